//! Fuzzes `videomeet_net::fuzzing::client_message` (see there for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| videomeet_net::fuzzing::client_message(data));
