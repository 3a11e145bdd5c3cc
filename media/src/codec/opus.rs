//! Opus: 20 ms mono frames at 48 kHz, VOIP mode, in-band FEC and DTX.

use opus::{Application, Bitrate, Channels};

use super::CodecError;
use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE_HZ, AudioFrame};

const CODEC: &str = "Opus";

/// Largest packet the encoder writes for one 20 ms frame (the format's own limit).
pub const MAX_OPUS_PACKET_BYTES: usize = 1275;

/// Encoder settings; both can change while running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Packet loss the encoder spends FEC bits on, in percent (0 turns FEC data off).
    pub expected_loss_pct: u8,
}

impl Default for OpusConfig {
    /// Clear wideband speech with room for FEC at moderate loss.
    fn default() -> Self {
        Self {
            bitrate_bps: 32_000,
            expected_loss_pct: 10,
        }
    }
}

fn error(kind: fn(&'static str, String) -> CodecError) -> impl Fn(opus::Error) -> CodecError {
    move |e| kind(CODEC, e.to_string())
}

fn setup(codec: &'static str, reason: String) -> CodecError {
    CodecError::Setup { codec, reason }
}

fn encode_failed(codec: &'static str, reason: String) -> CodecError {
    CodecError::Encode { codec, reason }
}

fn malformed(codec: &'static str, reason: String) -> CodecError {
    CodecError::Malformed { codec, reason }
}

/// Encodes 20 ms frames; silence comes out as tiny DTX packets.
pub struct OpusEncoder {
    encoder: opus::Encoder,
    config: OpusConfig,
}

impl OpusEncoder {
    /// An encoder with `config`.
    pub fn new(config: OpusConfig) -> Result<Self, CodecError> {
        let mut encoder =
            opus::Encoder::new(AUDIO_SAMPLE_RATE_HZ, Channels::Mono, Application::Voip).map_err(error(setup))?;
        encoder.set_inband_fec(true).map_err(error(setup))?;
        encoder.set_dtx(true).map_err(error(setup))?;
        let mut this = Self { encoder, config };
        this.set_bitrate(config.bitrate_bps)?;
        this.set_expected_loss(config.expected_loss_pct)?;
        Ok(this)
    }

    /// An encoder for a file rather than a call: music-grade, every frame a full packet
    /// (no silence left out, no loss protection).
    pub fn for_file(bitrate_bps: u32) -> Result<Self, CodecError> {
        let mut encoder =
            opus::Encoder::new(AUDIO_SAMPLE_RATE_HZ, Channels::Mono, Application::Audio).map_err(error(setup))?;
        encoder.set_dtx(false).map_err(error(setup))?;
        let config = OpusConfig {
            bitrate_bps,
            expected_loss_pct: 0,
        };
        let mut this = Self { encoder, config };
        this.set_bitrate(bitrate_bps)?;
        Ok(this)
    }

    /// Current settings.
    pub fn config(&self) -> OpusConfig {
        self.config
    }

    /// Changes the target bitrate (clamped to Opus' 6..=510 kbps).
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), CodecError> {
        let bitrate_bps = bitrate_bps.clamp(6_000, 510_000);
        self.encoder
            .set_bitrate(Bitrate::Bits(bitrate_bps as i32))
            .map_err(error(setup))?;
        self.config.bitrate_bps = bitrate_bps;
        Ok(())
    }

    /// Tells the encoder how much loss to protect against (0..=100 %).
    pub fn set_expected_loss(&mut self, loss_pct: u8) -> Result<(), CodecError> {
        let loss_pct = loss_pct.min(100);
        self.encoder
            .set_packet_loss_perc(i32::from(loss_pct))
            .map_err(error(setup))?;
        self.config.expected_loss_pct = loss_pct;
        Ok(())
    }

    /// Encodes one frame into `packet` (buffer reused). A packet of 2 bytes or fewer is a
    /// DTX "still silent" packet that a sender may skip.
    pub fn encode(&mut self, frame: &AudioFrame, packet: &mut Vec<u8>) -> Result<(), CodecError> {
        packet.resize(MAX_OPUS_PACKET_BYTES, 0);
        let written = self
            .encoder
            .encode_float(&frame.samples[..], packet)
            .map_err(error(encode_failed))?;
        packet.truncate(written);
        Ok(())
    }
}

/// Decodes 20 ms packets and conceals lost ones.
pub struct OpusDecoder {
    decoder: opus::Decoder,
}

impl OpusDecoder {
    /// A fresh decoder.
    pub fn new() -> Result<Self, CodecError> {
        let decoder = opus::Decoder::new(AUDIO_SAMPLE_RATE_HZ, Channels::Mono).map_err(error(setup))?;
        Ok(Self { decoder })
    }

    /// Decodes one received 20 ms packet into `out`.
    pub fn decode(&mut self, packet: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        if packet.is_empty() {
            return Err(malformed(CODEC, "empty packet".into()));
        }
        let samples = opus::packet::get_nb_samples(packet, AUDIO_SAMPLE_RATE_HZ).map_err(error(malformed))?;
        if samples != AUDIO_FRAME_SAMPLES {
            return Err(malformed(
                CODEC,
                format!("packet holds {} ms of audio, expected 20 ms", samples * 1000 / 48_000),
            ));
        }
        self.decode_into(packet, false, out)
    }

    /// Fills `out` for a lost packet by extrapolating the last ones (packet loss concealment).
    pub fn conceal(&mut self, out: &mut AudioFrame) -> Result<(), CodecError> {
        self.decode_into(&[], false, out)
    }

    /// Rebuilds a lost packet from the forward error correction data carried by the packet
    /// that followed it (`next_packet`); falls back to concealment when it carries none.
    pub fn recover(&mut self, next_packet: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        if next_packet.is_empty() {
            return self.conceal(out);
        }
        self.decode_into(next_packet, true, out)
    }

    fn decode_into(&mut self, packet: &[u8], fec: bool, out: &mut AudioFrame) -> Result<(), CodecError> {
        let decoded = self
            .decoder
            .decode_float(packet, &mut out.samples[..], fec)
            .map_err(error(malformed))?;
        if decoded != AUDIO_FRAME_SAMPLES {
            return Err(malformed(CODEC, format!("decoded {decoded} samples, expected 960")));
        }
        Ok(())
    }
}
