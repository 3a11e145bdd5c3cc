//! The recording's file: fragmented MP4 (H.264 and Opus), a fragment a second, each on the
//! disk before the next begins, so that a killed program leaves a file that plays up to
//! its last second or so.
//!
//! The boxes come from `muxide`'s fragmented muxer; this module feeds it, writes what it
//! makes, and keeps the file whole when writing fails.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use muxide::api::AudioCodec;
use muxide::codec::common::AnnexBNalIter;
use muxide::codec::h264::extract_avc_config;
use muxide::fragmented::{FragmentAudioConfig, FragmentConfig, FragmentedMuxer};

use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE_HZ};

/// Video times count in 90 kHz ticks, as in RTP and MPEG.
pub const VIDEO_TIMESCALE: u32 = 90_000;
/// A fragment is written once it holds this much.
const FRAGMENT_MS: u32 = 1_000;
/// H.264 parameter sets: in the file's header, left out of its samples.
const SPS: u8 = 7;
const PPS: u8 = 8;

/// Why a recording's file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be made.
    #[error("could not create {path}: {reason}")]
    Create {
        /// Where.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// Writing failed (a full disk, a removed drive).
    #[error("{0}")]
    Write(String),
}

fn write_error(error: &std::io::Error) -> FileError {
    FileError::Write(match error.kind() {
        std::io::ErrorKind::StorageFull => "the disk is full".to_owned(),
        _ => error.to_string(),
    })
}

/// A recording being written.
pub struct RecordingFile {
    file: File,
    path: PathBuf,
    /// The pictures' size; `None` for sound alone.
    size: Option<(u32, u32)>,
    /// Made at the first keyframe (at once for sound alone), whose parameter sets the header needs.
    muxer: Option<FragmentedMuxer>,
    /// Sound that came before the first keyframe: written after the header.
    early_sound: Vec<(u64, Vec<u8>)>,
    /// Bytes on the disk in whole fragments.
    written: u64,
    /// Scratch for one sample in MP4's length-prefixed form.
    sample: Vec<u8>,
}

impl RecordingFile {
    /// Makes the file at `path` for pictures of `size` and sound; an existing file is never
    /// replaced.
    pub fn create(path: &Path, size: (u32, u32)) -> Result<Self, FileError> {
        Self::open(path, Some(size))
    }

    /// Makes the file at `path` for sound alone (an `.m4a`); an existing file is never
    /// replaced.
    pub fn create_sound_only(path: &Path) -> Result<Self, FileError> {
        let mut file = Self::open(path, None)?;
        let mut muxer =
            FragmentedMuxer::new_audio_only(sound_config()).map_err(|error| FileError::Write(error.to_string()))?;
        let header = muxer.init_segment();
        file.append(&header)?;
        file.muxer = Some(muxer);
        Ok(file)
    }

    fn open(path: &Path, size: Option<(u32, u32)>) -> Result<Self, FileError> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|error| FileError::Create {
                path: path.to_owned(),
                reason: match error.kind() {
                    std::io::ErrorKind::AlreadyExists => "a file of that name exists".to_owned(),
                    _ => error.to_string(),
                },
            })?;
        Ok(Self {
            file,
            path: path.to_owned(),
            size,
            muxer: None,
            early_sound: Vec::new(),
            written: 0,
            sample: Vec::new(),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes one encoded picture (Annex B) at `time` in [`VIDEO_TIMESCALE`] ticks. Pictures
    /// before the first keyframe are dropped: nothing could decode them.
    pub fn video(&mut self, time: u64, annex_b: &[u8], keyframe: bool) -> Result<(), FileError> {
        if self.muxer.is_none() {
            if !keyframe {
                return Ok(());
            }
            self.start(annex_b)?;
        }
        self.sample.clear();
        for nal in AnnexBNalIter::new(annex_b) {
            if nal.is_empty() || matches!(nal[0] & 0x1f, SPS | PPS) {
                continue;
            }
            self.sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            self.sample.extend_from_slice(nal);
        }
        if let Some(muxer) = &mut self.muxer {
            muxer
                .write_video(time, time, &self.sample, keyframe)
                .map_err(|error| FileError::Write(error.to_string()))?;
        }
        self.flush_if_due()
    }

    /// Takes one Opus packet of 20 ms, at `time` in 48 kHz samples.
    pub fn sound(&mut self, time: u64, packet: &[u8]) -> Result<(), FileError> {
        match &mut self.muxer {
            Some(muxer) => muxer
                .write_audio(time, time, packet)
                .map_err(|error| FileError::Write(error.to_string())),
            None => {
                self.early_sound.push((time, packet.to_vec()));
                Ok(())
            }
        }
    }

    /// Writes the header from the first keyframe's parameter sets, and the sound so far.
    fn start(&mut self, keyframe: &[u8]) -> Result<(), FileError> {
        let avc = extract_avc_config(keyframe)
            .ok_or_else(|| FileError::Write("the first keyframe has no parameter sets".into()))?;
        let (width, height) = self.size.unwrap_or_default();
        let mut config = FragmentConfig::new(width, height, VIDEO_TIMESCALE).with_fragment_duration_ms(FRAGMENT_MS);
        config.sps = avc.sps;
        config.pps = avc.pps;
        let mut muxer = FragmentedMuxer::new_with_audio(config, sound_config())
            .map_err(|error| FileError::Write(error.to_string()))?;
        let header = muxer.init_segment();
        self.append(&header)?;
        for (time, packet) in std::mem::take(&mut self.early_sound) {
            muxer
                .write_audio(time, time, &packet)
                .map_err(|error| FileError::Write(error.to_string()))?;
        }
        self.muxer = Some(muxer);
        Ok(())
    }

    fn flush_if_due(&mut self) -> Result<(), FileError> {
        if self.muxer.as_ref().is_some_and(FragmentedMuxer::ready_to_flush) {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is queued as one fragment, and waits until it is on the disk.
    fn flush(&mut self) -> Result<(), FileError> {
        if let Some(fragment) = self.muxer.as_mut().and_then(FragmentedMuxer::flush_segment) {
            self.append(&fragment)?;
        }
        Ok(())
    }

    /// Appends whole boxes; when that fails, the file is cut back to the boxes before, so
    /// that it stays readable to its end.
    fn append(&mut self, boxes: &[u8]) -> Result<(), FileError> {
        let written = self.file.write_all(boxes).and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.written += boxes.len() as u64;
                Ok(())
            }
            Err(error) => {
                let _ = self.file.set_len(self.written);
                Err(write_error(&error))
            }
        }
    }

    /// Writes the last fragment and closes the file.
    pub fn finish(mut self) -> Result<u64, FileError> {
        self.flush()?;
        self.file.sync_all().map_err(|error| write_error(&error))?;
        Ok(self.written)
    }
}

/// The sound's track: Opus, mono, 48 kHz.
fn sound_config() -> FragmentAudioConfig {
    FragmentAudioConfig {
        codec: AudioCodec::Opus,
        sample_rate: AUDIO_SAMPLE_RATE_HZ,
        channels: 1,
    }
}

/// The 48 kHz time of the `index`th 20 ms sound frame.
pub fn sound_time(index: u64) -> u64 {
    index * AUDIO_FRAME_SAMPLES as u64
}
