//! Fuzzes `videomeet_net::fuzzing::h264_decoder` (see there for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| videomeet_net::fuzzing::h264_decoder(data));
