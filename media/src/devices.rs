//! Everything the setup screen can pick: real devices and synthetic ones, side by side.
//!
//! Every choice has a stable id string (for settings files and command-line flags) and a
//! label for people. Listing is cheap and safe to repeat when devices come and go.

use crate::audio::{
    self, AudioDeviceInfo, AudioError, AudioSource, Microphone, Silence, SoundOutput, Speaker, TestTalk, TestTone,
};
use crate::video::{self, Camera, CameraInfo, TestPattern, VideoError, VideoFormat, VideoSource};

/// Default test tone frequency.
pub const DEFAULT_TONE_HZ: u32 = 440;

/// A camera or the synthetic test pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VideoChoice {
    /// The moving, stamped test picture.
    TestPattern,
    /// The test picture, acting unplugged after this many frames (for tests of a camera
    /// that goes away; not listed among the devices).
    TestPatternUnplugging {
        /// Frames delivered before it stops.
        after_frames: u32,
    },
    /// A connected camera.
    Camera(CameraInfo),
}

/// A microphone or a synthetic one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MicrophoneChoice {
    /// A sine at this frequency with timing markers.
    TestTone {
        /// Tone frequency in Hz.
        freq_hz: u32,
    },
    /// The test tone at [`DEFAULT_TONE_HZ`], acting unplugged after this many 20 ms frames
    /// (for tests of a microphone that goes away; not listed among the devices).
    TestToneUnplugging {
        /// Frames delivered before it stops.
        after_frames: u32,
    },
    /// A voice-like sound at about this pitch (see [`crate::audio::talking`]), for tests
    /// of echo; not listed among the devices.
    TestTalk {
        /// Pitch in Hz.
        pitch_hz: u32,
    },
    /// Nothing at all.
    Silence,
    /// A connected microphone.
    Device(AudioDeviceInfo),
}

/// A speaker, or none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpeakerChoice {
    /// Sound is decoded and mixed but not played (for machines without speakers).
    Mute,
    /// A synthetic speaker that acts unplugged after this many 20 ms frames (for tests of a
    /// speaker that goes away; not listed among the devices).
    TestUnplugging {
        /// Frames it plays before it stops.
        after_frames: u32,
    },
    /// A connected speaker or headset.
    Device(AudioDeviceInfo),
}

/// What is there to choose from right now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceList {
    /// Cameras, real ones first, the test pattern last.
    pub cameras: Vec<VideoChoice>,
    /// Microphones, the system default first, synthetic ones last.
    pub microphones: Vec<MicrophoneChoice>,
    /// Speakers, the system default first, "no sound" last.
    pub speakers: Vec<SpeakerChoice>,
    /// Plain-language notes for the user, such as "No camera found".
    pub notes: Vec<String>,
}

impl DeviceList {
    /// The system's default microphone, when there is one.
    pub fn default_microphone(&self) -> Option<&MicrophoneChoice> {
        self.microphones
            .iter()
            .find(|m| matches!(m, MicrophoneChoice::Device(info) if info.is_default))
    }

    /// The system's default speaker, when there is one.
    pub fn default_speaker(&self) -> Option<&SpeakerChoice> {
        self.speakers
            .iter()
            .find(|s| matches!(s, SpeakerChoice::Device(info) if info.is_default))
    }
}

/// Lists every device and synthetic source. Never fails: a subsystem that cannot be
/// reached leaves a note and the synthetic choices.
pub fn list_devices() -> DeviceList {
    let mut list = DeviceList::default();
    match video::list_cameras() {
        Ok(cameras) if cameras.is_empty() => list.notes.push("No camera found: you can use the test pattern.".into()),
        Ok(cameras) => list.cameras.extend(cameras.into_iter().map(VideoChoice::Camera)),
        Err(error) => list.notes.push(format!("Cameras unavailable: {error}")),
    }
    list.cameras.push(VideoChoice::TestPattern);
    match audio::list_microphones() {
        Ok(mics) if mics.is_empty() => list.notes.push("No microphone found.".into()),
        Ok(mics) => list.microphones.extend(mics.into_iter().map(MicrophoneChoice::Device)),
        Err(error) => list.notes.push(format!("Microphones unavailable: {error}")),
    }
    list.microphones.push(MicrophoneChoice::TestTone {
        freq_hz: DEFAULT_TONE_HZ,
    });
    list.microphones.push(MicrophoneChoice::Silence);
    match audio::list_speakers() {
        Ok(speakers) if speakers.is_empty() => list.notes.push("No speaker found.".into()),
        Ok(speakers) => list.speakers.extend(speakers.into_iter().map(SpeakerChoice::Device)),
        Err(error) => list.notes.push(format!("Speakers unavailable: {error}")),
    }
    list.speakers.push(SpeakerChoice::Mute);
    list
}

impl VideoChoice {
    /// Stable id: `test-pattern` or `camera:<id>`.
    pub fn id(&self) -> String {
        match self {
            Self::TestPattern => "test-pattern".into(),
            Self::TestPatternUnplugging { after_frames } => format!("test-pattern-unplugging:{after_frames}"),
            Self::Camera(info) => format!("camera:{}", info.id),
        }
    }

    /// Name to show people.
    pub fn label(&self) -> &str {
        match self {
            Self::TestPattern | Self::TestPatternUnplugging { .. } => TestPattern::NAME,
            Self::Camera(info) => &info.name,
        }
    }

    /// Parses an id made by [`VideoChoice::id`]; the camera need not be connected.
    pub fn from_id(id: &str) -> Option<Self> {
        match id.split_once(':') {
            None if id == "test-pattern" => Some(Self::TestPattern),
            Some(("test-pattern-unplugging", frames)) => frames
                .parse()
                .ok()
                .map(|after_frames| Self::TestPatternUnplugging { after_frames }),
            Some(("camera", camera)) if !camera.is_empty() => Some(Self::Camera(CameraInfo {
                id: camera.into(),
                name: camera.into(),
            })),
            _ => None,
        }
    }

    /// Opens the source; call it on the thread that will read it.
    pub fn open(&self, format: VideoFormat) -> Result<Box<dyn VideoSource>, VideoError> {
        Ok(match self {
            Self::TestPattern => Box::new(TestPattern::new(format)),
            Self::TestPatternUnplugging { after_frames } => {
                Box::new(TestPattern::new(format).unplugging_after(*after_frames))
            }
            Self::Camera(info) => Box::new(Camera::open(&info.id, format)?),
        })
    }
}

impl MicrophoneChoice {
    /// Stable id: `test-tone:<hz>`, `silence` or `audio:<device id>`.
    pub fn id(&self) -> String {
        match self {
            Self::TestTone { freq_hz } => format!("test-tone:{freq_hz}"),
            Self::TestToneUnplugging { after_frames } => format!("test-tone-unplugging:{after_frames}"),
            Self::TestTalk { pitch_hz } => format!("test-talk:{pitch_hz}"),
            Self::Silence => "silence".into(),
            Self::Device(info) => format!("audio:{}", info.id),
        }
    }

    /// Name to show people.
    pub fn label(&self) -> String {
        match self {
            Self::TestTone { freq_hz } => format!("Test tone ({freq_hz} Hz)"),
            Self::TestToneUnplugging { .. } => format!("Test tone ({DEFAULT_TONE_HZ} Hz)"),
            Self::TestTalk { pitch_hz } => format!("Test voice ({pitch_hz} Hz)"),
            Self::Silence => Silence::NAME.into(),
            Self::Device(info) => info.name.clone(),
        }
    }

    /// Parses an id made by [`MicrophoneChoice::id`].
    pub fn from_id(id: &str) -> Option<Self> {
        match id.split_once(':') {
            None if id == "silence" => Some(Self::Silence),
            None if id == "test-tone" => Some(Self::TestTone {
                freq_hz: DEFAULT_TONE_HZ,
            }),
            Some(("test-tone", hz)) => hz.parse().ok().map(|freq_hz| Self::TestTone { freq_hz }),
            Some(("test-talk", hz)) => hz.parse().ok().map(|pitch_hz| Self::TestTalk { pitch_hz }),
            Some(("test-tone-unplugging", frames)) => frames
                .parse()
                .ok()
                .map(|after_frames| Self::TestToneUnplugging { after_frames }),
            Some(("audio", device)) if !device.is_empty() => Some(Self::Device(AudioDeviceInfo {
                id: device.into(),
                name: device.into(),
                is_default: false,
            })),
            _ => None,
        }
    }

    /// Opens the source and starts capturing.
    pub fn open(&self) -> Result<Box<dyn AudioSource>, AudioError> {
        Ok(match self {
            Self::TestTone { freq_hz } => Box::new(TestTone::new(*freq_hz as f32)),
            Self::TestToneUnplugging { after_frames } => {
                Box::new(TestTone::new(DEFAULT_TONE_HZ as f32).unplugging_after(*after_frames))
            }
            Self::TestTalk { pitch_hz } => Box::new(TestTalk::new(*pitch_hz as f32)),
            Self::Silence => Box::new(Silence::new()),
            Self::Device(info) => Box::new(Microphone::open(&info.id)?),
        })
    }
}

impl SpeakerChoice {
    /// Stable id: `mute` or `audio:<device id>`.
    pub fn id(&self) -> String {
        match self {
            Self::Mute => "mute".into(),
            Self::TestUnplugging { after_frames } => format!("test-speaker-unplugging:{after_frames}"),
            Self::Device(info) => format!("audio:{}", info.id),
        }
    }

    /// Name to show people.
    pub fn label(&self) -> &str {
        match self {
            Self::Mute => "No sound",
            Self::TestUnplugging { .. } => audio::TEST_SPEAKER_NAME,
            Self::Device(info) => &info.name,
        }
    }

    /// Parses an id made by [`SpeakerChoice::id`].
    pub fn from_id(id: &str) -> Option<Self> {
        match id.split_once(':') {
            None if id == "mute" => Some(Self::Mute),
            Some(("test-speaker-unplugging", frames)) => frames
                .parse()
                .ok()
                .map(|after_frames| Self::TestUnplugging { after_frames }),
            Some(("audio", device)) if !device.is_empty() => Some(Self::Device(AudioDeviceInfo {
                id: device.into(),
                name: device.into(),
                is_default: false,
            })),
            _ => None,
        }
    }

    /// Opens the speaker; `None` for [`SpeakerChoice::Mute`].
    pub fn open(&self) -> Result<Option<SoundOutput>, AudioError> {
        match self {
            Self::Mute => Ok(None),
            Self::TestUnplugging { after_frames } => Ok(Some(SoundOutput::Unplugging {
                frames_left: *after_frames,
            })),
            Self::Device(info) => Speaker::open(&info.id).map(|speaker| Some(SoundOutput::Speaker(Box::new(speaker)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_always_offers_the_synthetic_devices() {
        let list = list_devices();
        assert_eq!(list.cameras.last(), Some(&VideoChoice::TestPattern));
        assert!(list.microphones.contains(&MicrophoneChoice::TestTone {
            freq_hz: DEFAULT_TONE_HZ
        }));
        assert!(list.microphones.contains(&MicrophoneChoice::Silence));
        assert_eq!(list.speakers.last(), Some(&SpeakerChoice::Mute));
        // Listing again (as the setup screen does on hot-plug) gives the same answer.
        assert_eq!(list_devices().cameras, list.cameras);
    }

    #[test]
    fn ids_round_trip() {
        for choice in [VideoChoice::TestPattern, VideoChoice::from_id("camera:0").unwrap()] {
            assert_eq!(VideoChoice::from_id(&choice.id()), Some(choice));
        }
        for choice in [
            MicrophoneChoice::TestTone { freq_hz: 523 },
            MicrophoneChoice::TestToneUnplugging { after_frames: 25 },
            MicrophoneChoice::TestTalk { pitch_hz: 140 },
            MicrophoneChoice::Silence,
            MicrophoneChoice::from_id("audio:alsa:pulse").unwrap(),
        ] {
            assert_eq!(MicrophoneChoice::from_id(&choice.id()), Some(choice));
        }
        assert_eq!(SpeakerChoice::from_id("mute"), Some(SpeakerChoice::Mute));
        let unplugging = SpeakerChoice::TestUnplugging { after_frames: 25 };
        assert_eq!(SpeakerChoice::from_id(&unplugging.id()), Some(unplugging));
        for bad in [
            "",
            "camera:",
            "webcam",
            "test-tone:loud",
            "test-tone-unplugging:-1",
            "audio:",
        ] {
            assert_eq!(VideoChoice::from_id(bad), None, "{bad}");
            assert_eq!(MicrophoneChoice::from_id(bad), None, "{bad}");
            assert_eq!(SpeakerChoice::from_id(bad), None, "{bad}");
        }
    }
}
