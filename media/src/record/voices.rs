//! Each participant's sound in a file of its own beside the recording (for editing and
//! transcripts): `Standup 2026-12-04 09.30 - Grace.m4a`, Opus in fragmented MP4. Every file
//! starts with the recording and is as long as it: silence where its person was not there
//! yet, was muted or had left, so that the files line up in an editor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::file::{FileError, RecordingFile, sound_time};
use super::{Scene, Voice};
use crate::audio::mixer::Heard;
use crate::codec::OpusEncoder;
use crate::frame::AudioFrame;

/// One person's file.
struct Track {
    file: RecordingFile,
    encoder: OpusEncoder,
}

/// Everyone's files, made as people are first heard or seen.
pub(super) struct VoiceFiles {
    /// The recording's path without its extension, which every name starts with.
    stem: PathBuf,
    bitrate_bps: u32,
    tracks: HashMap<Voice, Track>,
    /// In the order made, for the list given back.
    order: Vec<PathBuf>,
    silence: AudioFrame,
    packet: Vec<u8>,
}

impl VoiceFiles {
    /// Files beside the recording at `path`.
    pub(super) fn beside(path: &Path, bitrate_bps: u32) -> Self {
        Self {
            stem: path.with_extension(""),
            bitrate_bps,
            tracks: HashMap::new(),
            order: Vec::new(),
            silence: AudioFrame::default(),
            packet: Vec::new(),
        }
    }

    /// Writes the `index`th 20 ms of each person: `heard` for the others, `ours` (while our
    /// microphone is on) for us. Someone new gets a file that starts with silence up to now.
    pub(super) fn take(
        &mut self,
        index: u64,
        heard: &Heard,
        ours: Option<&AudioFrame>,
        scene: &Scene,
    ) -> Result<(), FileError> {
        let present = scene
            .participants
            .iter()
            .map(|p| p.voice)
            .chain(heard.voices.iter().map(|(source, _)| Voice::Theirs(*source)));
        for voice in present.collect::<Vec<_>>() {
            if !self.tracks.contains_key(&voice) {
                self.add(voice, index, scene)?;
            }
        }
        for (voice, track) in &mut self.tracks {
            let frame = match voice {
                Voice::Ours => ours,
                Voice::Theirs(id) => heard.voices.iter().find(|(source, _)| source == id).map(|(_, f)| f),
            };
            track
                .encoder
                .encode(frame.unwrap_or(&self.silence), &mut self.packet)
                .map_err(|error| FileError::Write(error.to_string()))?;
            track.file.sound(sound_time(index), &self.packet)?;
        }
        Ok(())
    }

    /// A file for `voice`, named after them, holding silence up to the `index`th 20 ms.
    fn add(&mut self, voice: Voice, index: u64, scene: &Scene) -> Result<(), FileError> {
        let name = scene
            .participants
            .iter()
            .find(|p| p.voice == voice)
            .map_or_else(|| "Someone".to_owned(), |p| p.name.clone());
        let name = super::file_name_part(&name).unwrap_or_else(|| "Someone".to_owned());
        let path = self.free_path(&name);
        let mut track = Track {
            file: RecordingFile::create_sound_only(&path)?,
            encoder: OpusEncoder::for_file(self.bitrate_bps).map_err(|error| FileError::Write(error.to_string()))?,
        };
        for before in 0..index {
            track
                .encoder
                .encode(&self.silence, &mut self.packet)
                .map_err(|error| FileError::Write(error.to_string()))?;
            track.file.sound(sound_time(before), &self.packet)?;
        }
        self.order.push(path);
        self.tracks.insert(voice, track);
        Ok(())
    }

    /// `<stem> - <name>.m4a`, numbered when taken.
    fn free_path(&self, name: &str) -> PathBuf {
        let stem = self.stem.to_string_lossy();
        (1..)
            .map(|number| match number {
                1 => PathBuf::from(format!("{stem} - {name}.m4a")),
                n => PathBuf::from(format!("{stem} - {name} ({n}).m4a")),
            })
            .find(|path| !path.exists() && !self.order.contains(path))
            .unwrap_or_else(|| PathBuf::from(format!("{stem} - {name}.m4a")))
    }

    /// Closes every file; their paths, in the order they were made, and the first failure.
    pub(super) fn finish(self) -> (Vec<PathBuf>, Option<FileError>) {
        let mut failure = None;
        for (_, track) in self.tracks {
            if let Err(error) = track.file.finish() {
                failure.get_or_insert(error);
            }
        }
        (self.order, failure)
    }
}
