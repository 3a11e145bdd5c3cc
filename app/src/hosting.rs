//! What hosting a meeting takes from this computer beyond the meeting itself: the
//! certificate the guest page is served with, kept so that a browser that accepted it once
//! recognises it at the next meeting.

use std::sync::Arc;

use videomeet_net::signaling::{HostConfig, WebIdentity, certificate_names};

/// The certificate's file in the config folder.
const CERTIFICATE_FILE: &str = "host-certificate.pem";

/// A meeting titled `title` hosted by `name`, its guest page served with the kept
/// certificate (or one for this meeting only, with a warning, when it cannot be kept).
pub fn host_config(title: &str, name: &str) -> HostConfig {
    let mut config = HostConfig::new(title, name);
    config.web_identity = kept_identity().map(Arc::new);
    config
}

fn kept_identity() -> Option<WebIdentity> {
    let path = crate::folders::config_dir()?.join(CERTIFICATE_FILE);
    match WebIdentity::load_or_create(&path, &certificate_names()) {
        Ok(identity) => Some(identity),
        Err(error) => {
            tracing::warn!(%error, "the guest page's certificate is made for this meeting only");
            None
        }
    }
}
