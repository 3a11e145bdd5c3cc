//! Recording a meeting to a file any player opens: the meeting's picture composed from
//! everyone's decoded video (see [`compose`]), the sound everyone heard with our own
//! microphone in it, encoded on a thread of its own and written as fragmented MP4 (see
//! [`file`]).
//!
//! The thread never slows the call: it reads the newest frames from the same slots the
//! screen draws from, takes sound from bounded queues that drop rather than wait, and when
//! it falls behind it leaves pictures out.

mod compose;
pub mod file;
mod label;
pub mod layout;
mod voices;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use compose::Compositor;
use file::{FileError, RecordingFile, VIDEO_TIMESCALE, sound_time};

use crate::audio::AudioLevels;
use crate::audio::mixer::{Heard, SourceId};
use crate::codec::{H264Config, H264Encoder, OpusEncoder, VideoContent};
use crate::frame::{AUDIO_SAMPLE_RATE_HZ, AudioFrame, EncodedVideoFrame};
use crate::slot::VideoSlot;

/// Sound frames queued for the recorder before new ones are dropped (over a second).
const SOUND_QUEUE: usize = 64;
/// Microphone frames kept waiting for the mix they go into (100 ms); older ones go.
const MICROPHONE_WAIT: usize = 5;

/// Where a thread that makes sound hands a copy of it to a recording, while one runs: set
/// and cleared from elsewhere, never waited on (a full recording queue drops the frame).
#[derive(Clone, Default)]
pub struct SoundTap(Arc<Mutex<Option<SyncSender<AudioFrame>>>>);

impl SoundTap {
    /// Copies go to `to` from now on, or nowhere.
    pub fn set(&self, to: Option<SyncSender<AudioFrame>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// Hands a copy of `frame` on, if anyone takes it.
    pub fn send(&self, frame: &AudioFrame) {
        if let Some(to) = &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            let _ = to.try_send(frame.clone());
        }
    }
}

/// `text` (a meeting's title, a person's name) as a part of a file name: letters, digits,
/// spaces and `-_'` only, at most 60 characters; `None` when nothing is left.
pub fn file_name_part(text: &str) -> Option<String> {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_'".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = kept.split_whitespace().collect();
    let part: String = words.join(" ").chars().take(60).collect();
    (!part.is_empty()).then_some(part)
}

/// How a participant is heard, which also names them in a [`Scene`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Voice {
    /// Us: our microphone.
    Ours,
    /// Another participant, by their sound's source id.
    Theirs(SourceId),
}

/// One participant as the recording shows them.
#[derive(Clone)]
pub struct Participant {
    /// Their name, written on their picture.
    pub name: String,
    /// Who they are, and how loud.
    pub voice: Voice,
    /// Their camera's newest picture, while it is on.
    pub camera: Option<Arc<VideoSlot>>,
    /// Their shared screen's newest picture, while they share.
    pub screen: Option<Arc<VideoSlot>>,
}

/// Everyone in the meeting, ourselves first.
#[derive(Clone, Default)]
pub struct Scene {
    /// In the order they joined.
    pub participants: Vec<Participant>,
}

/// What to record and how.
#[derive(Clone, Debug)]
pub struct RecordingSettings {
    /// The file to make (it must not exist).
    pub path: PathBuf,
    /// The picture's size.
    pub size: (u32, u32),
    /// Pictures a second.
    pub fps: u32,
    /// The picture's bitrate.
    pub video_bitrate_bps: u32,
    /// The sound's bitrate.
    pub sound_bitrate_bps: u32,
    /// Each person's sound in a file of its own beside the recording, too.
    pub voice_files: bool,
}

impl RecordingSettings {
    /// 1280x720 at 30 fps, or 1920x1080 when `screen` (text stays sharp), at bitrates that
    /// keep both clear: about 20 MB a minute at 720p.
    pub fn new(path: PathBuf, screen: bool) -> Self {
        let (size, video_bitrate_bps) = if screen {
            ((1920, 1080), 4_000_000)
        } else {
            ((1280, 720), 2_500_000)
        };
        Self {
            path,
            size,
            fps: 30,
            video_bitrate_bps,
            sound_bitrate_bps: 96_000,
            voice_files: false,
        }
    }
}

/// How a recording ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The file.
    pub path: PathBuf,
    /// How long it plays.
    pub duration: Duration,
    /// Its size in bytes.
    pub bytes: u64,
    /// Why it ended early (a full disk, a failed encoder); `None` when stopped.
    pub error: Option<String>,
    /// Each person's sound, when asked for: a file each beside the recording.
    pub voice_files: Vec<PathBuf>,
    /// Pictures in the file (fewer than the frame rate asks when the computer was busy).
    pub pictures: u64,
}

/// A running recording; stop it with [`Recorder::stop`] (dropping it stops it too).
pub struct Recorder {
    scene: Arc<Mutex<Arc<Scene>>>,
    mix: SyncSender<Heard>,
    microphone: SyncSender<AudioFrame>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Creates the file and starts recording into it; `levels` tell the active speaker.
    /// `ended` is called once from the recording's thread when its file is closed: after
    /// [`Recorder::stop`], or on its own when writing fails.
    pub fn start(
        settings: RecordingSettings,
        levels: Arc<AudioLevels>,
        ended: impl FnOnce(Finished) + Send + 'static,
    ) -> Result<Self, FileError> {
        let file = RecordingFile::create(&settings.path, settings.size)?;
        let video = H264Encoder::for_file(
            H264Config {
                bitrate_bps: settings.video_bitrate_bps,
                max_fps: settings.fps,
                content: VideoContent::Camera,
            },
            settings.fps * 2,
        )
        .map_err(|error| FileError::Write(error.to_string()))?;
        let sound =
            OpusEncoder::for_file(settings.sound_bitrate_bps).map_err(|error| FileError::Write(error.to_string()))?;
        let scene = Arc::new(Mutex::new(Arc::new(Scene::default())));
        let (mix, mix_rx) = sync_channel(SOUND_QUEUE);
        let (microphone, microphone_rx) = sync_channel(SOUND_QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let voices = settings
            .voice_files
            .then(|| voices::VoiceFiles::beside(&settings.path, settings.sound_bitrate_bps));
        let work = Work {
            file,
            voices,
            settings,
            scene: Arc::clone(&scene),
            levels,
            video,
            sound,
            mix: mix_rx,
            microphone: microphone_rx,
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("recording".into())
            .spawn(move || ended(work.run()))
            .map_err(|error| FileError::Write(error.to_string()))?;
        Ok(Self {
            scene,
            mix,
            microphone,
            stop,
            thread: Some(thread),
        })
    }

    /// Who is in the meeting now, and their pictures.
    pub fn set_scene(&self, scene: Scene) {
        *self.scene.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(scene);
    }

    /// Where what everyone heard goes, 20 ms at a time (never blocks).
    pub fn mix_input(&self) -> SyncSender<Heard> {
        self.mix.clone()
    }

    /// Where our microphone's sound goes while it is on (never blocks).
    pub fn microphone_input(&self) -> SyncSender<AudioFrame> {
        self.microphone.clone()
    }

    /// Stops recording and waits until the file is closed (its `ended` was called).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the recording's thread owns.
struct Work {
    file: RecordingFile,
    voices: Option<voices::VoiceFiles>,
    settings: RecordingSettings,
    scene: Arc<Mutex<Arc<Scene>>>,
    levels: Arc<AudioLevels>,
    video: H264Encoder,
    sound: OpusEncoder,
    mix: Receiver<Heard>,
    microphone: Receiver<AudioFrame>,
    stop: Arc<AtomicBool>,
}

impl Work {
    fn run(mut self) -> Finished {
        let started = Instant::now();
        let interval = Duration::from_secs(1) / self.settings.fps.max(1);
        let ticks_per_picture = u64::from(VIDEO_TIMESCALE / self.settings.fps.max(1));
        let mut compositor = Compositor::new(self.settings.size);
        let mut waiting_microphone = VecDeque::new();
        let (mut picture_index, mut sound_frames, mut pictures) = (0u64, 0u64, 0u64);
        let (mut packet, mut encoded) = (Vec::new(), EncodedVideoFrame::default());
        let outcome = loop {
            crate::clock::sleep_until(started + interval * picture_index as u32);
            if self.stop.load(Ordering::Relaxed) {
                break Ok(());
            }
            let scene = Arc::clone(&self.scene.lock().unwrap_or_else(PoisonError::into_inner));
            let sound = self.take_sound(&scene, &mut waiting_microphone, &mut sound_frames, &mut packet);
            if let Err(error) = sound {
                break Err(error);
            }
            let picture = compositor.compose(&scene, &self.levels, Instant::now());
            match self.video.encode(picture, &mut encoded) {
                Ok(true) => {
                    pictures += 1;
                    let time = picture_index * ticks_per_picture;
                    if let Err(error) = self.file.video(time, &encoded.data, encoded.keyframe) {
                        break Err(error);
                    }
                }
                Ok(false) => {}
                Err(error) => break Err(FileError::Write(error.to_string())),
            }
            // Behind (a slow machine): the pictures whose time has passed are left out.
            let due = (started.elapsed().as_micros() / interval.as_micros().max(1)) as u64;
            picture_index = (picture_index + 1).max(due);
        };
        let path = self.file.path().to_owned();
        let heard = Duration::from_micros(sound_time(sound_frames) * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE_HZ));
        let duration = heard.max(interval * picture_index as u32);
        let mut error = outcome.err().map(|error| error.to_string());
        let (voice_files, failed) = self.voices.take().map(voices::VoiceFiles::finish).unwrap_or_default();
        if let Some(failed) = failed {
            error.get_or_insert(failed.to_string());
        }
        let bytes = match self.file.finish() {
            Ok(bytes) => bytes,
            Err(failed) => {
                error.get_or_insert(failed.to_string());
                0
            }
        };
        if let Ok(metadata) = std::fs::metadata(&path) {
            tracing::info!(path = %path.display(), bytes = metadata.len(), ?error, "recording ended");
        }
        Finished {
            path,
            duration,
            bytes,
            error,
            voice_files,
            pictures,
        }
    }

    /// Encodes the mixes that came, each with our microphone's frame of the same time (and
    /// each person's sound into their own file, when asked for).
    fn take_sound(
        &mut self,
        scene: &Scene,
        waiting_microphone: &mut VecDeque<AudioFrame>,
        frames: &mut u64,
        packet: &mut Vec<u8>,
    ) -> Result<(), FileError> {
        while let Ok(frame) = self.microphone.try_recv() {
            waiting_microphone.push_back(frame);
            if waiting_microphone.len() > MICROPHONE_WAIT {
                waiting_microphone.pop_front();
            }
        }
        while let Ok(heard) = self.mix.try_recv() {
            let ours = waiting_microphone.pop_front();
            if let Some(voices) = &mut self.voices {
                voices.take(*frames, &heard, ours.as_ref(), scene)?;
            }
            let mut mix = heard.mix;
            if let Some(ours) = ours {
                for (sum, sample) in mix.samples.iter_mut().zip(ours.samples.iter()) {
                    *sum = (*sum + sample).clamp(-1.0, 1.0);
                }
            }
            self.sound
                .encode(&mix, packet)
                .map_err(|error| FileError::Write(error.to_string()))?;
            self.file.sound(sound_time(*frames), packet)?;
            *frames += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::file_name_part;

    #[test]
    fn a_name_becomes_part_of_a_file_name_and_never_a_path() {
        let part = |text: &str| file_name_part(text);
        assert_eq!(part("Grace Hopper").as_deref(), Some("Grace Hopper"));
        assert_eq!(part("../../etc/passwd").as_deref(), Some("etc passwd"));
        assert_eq!(part("Ada (2)").as_deref(), Some("Ada 2"));
        assert_eq!(part("C:\\nul").as_deref(), Some("C nul"));
        assert_eq!(part("\u{202e}gpj.exe").as_deref(), Some("gpj exe"));
        assert_eq!(part("///"), None);
        assert_eq!(part(&"x".repeat(300)).map(|p| p.len()), Some(60));
    }
}
