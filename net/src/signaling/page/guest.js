"use strict";
// Video Meet's guest page: a browser joins a meeting as net/PROTOCOL.md describes, over a
// WebSocket to the host's program and WebRTC media connections (one to each participant,
// or one to the host when the host forwards everyone's media).
//
// Test hooks in the query, harmless for users: name= and passcode= (prefilled), join=1
// (join at once), share_after=N (share the screen N seconds after the first media
// connection is up), signal=HOST:PORT (signal over ws://HOST:PORT/ instead of this page's
// own origin). The page logs what it sees as `videomeet-guest {json}` console lines, read
// by the tests.

const PROTOCOL_VERSION = 1;
const PING_EVERY_MS = 2000;
/** PROTOCOL.md, Limits: a guest that hears nothing from the host this long has lost it. */
const HOST_SILENCE_MS = 15000;
/** Letters and digits without 0 O 1 I L, as meeting codes are made. */
const MEETING_CODE = /^[A-HJKMNP-Z2-9]{8}$/;
/** A path that broke this long is restarted; again at most this often while it stays broken. */
const RESTART_AFTER_MS = 2500;
const RESTART_EVERY_MS = 4000;
/** Layout changes settle this long before the host is told how large cameras are drawn. */
const VIEW_SETTLE_MS = 250;
const TOAST_MS = 6000;
const REACTION_MS = 4000;
const STATS_EVERY_MS = 1000;
const NAME_KEY = "videomeet.name";
/** What the camera is asked for; a device that cannot do it gives what it can. */
const CAMERA_QUALITY = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
/** Tiles are laid out for pictures of this shape. */
const TILE_ASPECT = 16 / 9;
const TILE_GAP_PX = 8;
/** A narrow (phone) screen shows at most two columns of tiles, none lower than this. */
const NARROW_PX = 600;
const NARROW_MIN_TILE_HEIGHT_PX = 120;

const DENIED_REASONS = {
  wrong_passcode: "The passcode is wrong.",
  version_mismatch: "This page and the host's program speak different versions of the meeting protocol.",
  wrong_meeting: "This meeting code belongs to another meeting. Check the link you were sent.",
  meeting_full: "The meeting is full.",
  bad_hello: "The host could not read this page's request to join.",
  too_many_connections: "Too many people are trying to join from here right now. Try again in a moment.",
  handshake_timeout: "Joining took too long. Try again.",
  locked: "The host has locked the meeting: nobody new can join.",
  removed: "The host removed you from this meeting.",
  not_admitted: "The host did not let you in.",
  too_many_tries: "Too many wrong passcodes. Wait a few seconds before you try again.",
  forbidden_origin: "This meeting does not accept this web page.",
};

/** How the protocol's device names read in a sentence. */
const DEVICE_WORDS = { mic: "microphone", camera: "camera", screen: "screen share" };

const LEFT_REASONS = {
  left: "left",
  connection_lost: "lost their connection",
  misbehaved: "was disconnected by the host",
  removed: "was removed by the host",
};

// ---------------------------------------------------------------------------------------
// Test hooks, reports, messages to the user
// ---------------------------------------------------------------------------------------

const query = new URLSearchParams(location.search);
const testHooks = {
  name: query.get("name"),
  passcode: query.get("passcode"),
  joinAtOnce: query.get("join") === "1",
  shareAfterSeconds: query.has("share_after") ? Number(query.get("share_after")) : null,
  signalAddress: query.get("signal"),
};

/** One line for the tests (and anyone reading the console): `videomeet-guest {json}`. */
function report(what) {
  console.log("videomeet-guest " + JSON.stringify(what));
}

/** Something went wrong that the user should know of: shown briefly, and logged. */
function problem(message) {
  report({ event: "problem", message });
  toast(message, "problem");
}

/** A message that goes away by itself; `action` ({ label, run }) adds a button to it. */
function toast(text, kind = "note", action = null) {
  const note = element("div", "toast " + kind, text);
  if (action) {
    const button = element("button", "toast-action", action.label);
    button.type = "button";
    button.addEventListener("click", () => {
      note.remove();
      action.run();
    });
    note.append(button);
  }
  $("toasts").append(note);
  setTimeout(() => note.remove(), TOAST_MS);
}

function $(id) {
  return document.getElementById(id);
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function describeError(error) {
  return error && error.message ? `${error.name}: ${error.message}` : String(error);
}

function initialsOf(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => Array.from(word)[0].toUpperCase()).join("") || "?";
}

function ordinal(place) {
  const suffixes = { one: "st", two: "nd", few: "rd", other: "th" };
  return place + suffixes[new Intl.PluralRules("en", { type: "ordinal" }).select(place)];
}

/** A random token for `hello`'s `session`: kept while the page is open. */
function newSessionToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------
// Our camera, microphone and screen
// ---------------------------------------------------------------------------------------

const local = {
  camera: null, // MediaStreamTrack while the camera is on
  mic: null, // MediaStreamTrack while we have a microphone (muted: disabled)
  screen: null, // MediaStreamTrack while sharing
  cameraWanted: true,
  micWanted: true,
  /** What went wrong with each device, shown in the lobby. */
  cameraTrouble: "",
  micTrouble: "",
  /** The stream our tracks are announced in (one `msid` for all). */
  stream: new MediaStream(),
  /** Until the browser has answered for the devices. */
  starting: true,
};

const canShareScreen = Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);

function mediaAvailable() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

function cameraConstraints() {
  const chosen = $("camera-select").value;
  return chosen ? { ...CAMERA_QUALITY, deviceId: { exact: chosen } } : CAMERA_QUALITY;
}

function micConstraints() {
  const chosen = $("mic-select").value;
  return chosen ? { deviceId: { exact: chosen } } : true;
}

/** A sentence for a failed getUserMedia of `device` ("camera" or "microphone"). */
function deviceTrouble(device, error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `The ${device} is blocked for this page. Allow it in the browser's site settings to use it.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${device} was found.`;
    case "NotReadableError":
    case "AbortError":
      return `The ${device} could not be started: another program may be using it.`;
    default:
      return `The ${device} could not be started (${describeError(error)}).`;
  }
}

/** Asks for the camera and microphone together (one permission prompt), then for each
 * alone when that fails, so that a missing camera does not cost the microphone. */
async function openDevices() {
  if (!mediaAvailable()) {
    const why = "This browser gives this page no camera or microphone (the page must be opened over https).";
    local.cameraTrouble = local.micTrouble = why;
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: micConstraints(), video: cameraConstraints() });
    useMicTrack(stream.getAudioTracks()[0] || null);
    useCameraTrack(stream.getVideoTracks()[0] || null);
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      local.cameraTrouble = deviceTrouble("camera", error);
      local.micTrouble = deviceTrouble("microphone", error);
    } else {
      await openMic();
      await openCamera();
    }
  }
  await listDevices();
}

async function openCamera() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: cameraConstraints() });
    useCameraTrack(stream.getVideoTracks()[0]);
    return true;
  } catch (error) {
    local.cameraTrouble = deviceTrouble("camera", error);
    showDeviceState();
    return false;
  }
}

async function openMic() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: micConstraints() });
    useMicTrack(stream.getAudioTracks()[0]);
    return true;
  } catch (error) {
    local.micTrouble = deviceTrouble("microphone", error);
    showDeviceState();
    return false;
  }
}

function useCameraTrack(track) {
  if (local.camera) {
    local.stream.removeTrack(local.camera);
    local.camera.stop();
  }
  local.camera = track;
  if (track) {
    local.cameraTrouble = "";
    local.stream.addTrack(track);
    track.addEventListener("ended", () => cameraLost(track));
    report({ event: "camera", width: track.getSettings().width, height: track.getSettings().height });
  }
  for (const link of meeting.links.values()) link.sendOwn("camera");
  showDeviceState();
}

function useMicTrack(track) {
  if (local.mic) {
    local.stream.removeTrack(local.mic);
    local.mic.stop();
  }
  local.mic = track;
  if (track) {
    local.micTrouble = "";
    track.enabled = local.micWanted;
    local.stream.addTrack(track);
    track.addEventListener("ended", () => {
      if (local.mic === track) problem("The microphone stopped (unplugged?).");
    });
  }
  for (const link of meeting.links.values()) link.sendOwn("audio");
  levelMeter.follow(track);
  showDeviceState();
}

function cameraLost(track) {
  if (local.camera !== track) return;
  problem("The camera stopped (unplugged?).");
  useCameraTrack(null);
  sendMediaState();
}

/** The camera as we send it: nothing while it is turned off. */
function cameraToSend() {
  return local.cameraWanted ? local.camera : null;
}

function micIsOn() {
  return Boolean(local.mic) && local.micWanted;
}

function cameraIsOn() {
  return Boolean(cameraToSend());
}

async function setCamera(on) {
  local.cameraWanted = on;
  if (on && !local.camera && mediaAvailable()) await openCamera();
  if (!on && local.camera) useCameraTrack(null); // off means off: the camera's light too
  showDeviceState();
  sendMediaState();
}

async function setMic(on) {
  local.micWanted = on;
  if (on && !local.mic && mediaAvailable()) await openMic();
  if (local.mic) local.mic.enabled = on;
  showDeviceState();
  sendMediaState();
}

/** Fills the camera and microphone lists (labels come once access was granted). */
async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  fillDeviceList($("camera-select"), devices.filter((d) => d.kind === "videoinput"), local.camera, "Camera");
  fillDeviceList($("mic-select"), devices.filter((d) => d.kind === "audioinput"), local.mic, "Microphone");
}

function fillDeviceList(select, devices, track, noun) {
  const current = track ? track.getSettings().deviceId : select.value;
  select.replaceChildren();
  devices.forEach((device, index) => {
    const option = element("option", "", device.label || `${noun} ${index + 1}`);
    option.value = device.deviceId;
    select.append(option);
  });
  if (devices.length === 0) select.append(element("option", "", `No ${noun.toLowerCase()} found`));
  if (current && devices.some((d) => d.deviceId === current)) select.value = current;
  select.disabled = devices.length === 0;
}

async function cameraChosen() {
  if (!local.cameraWanted) return;
  if (local.camera) useCameraTrack(null); // some cameras cannot be opened twice
  await openCamera();
  sendMediaState();
}

async function micChosen() {
  await openMic();
}

/** The lobby's preview, the self view and the device buttons, as the devices are now. */
function showDeviceState() {
  const camera = cameraToSend();
  for (const video of [$("preview-video"), $("self-video")]) {
    if (camera) {
      if (!video.srcObject || video.srcObject.getVideoTracks()[0] !== camera) video.srcObject = new MediaStream([camera]);
    } else {
      video.srcObject = null;
    }
    video.hidden = !camera;
  }
  $("preview-off").hidden = Boolean(camera);
  $("preview-off").textContent = local.starting
    ? "Starting your camera…"
    : local.cameraWanted && local.cameraTrouble
      ? "No camera"
      : "Your camera is off";
  $("self-initials").hidden = Boolean(camera);
  $("self-initials").textContent = initialsOf(yourName());
  // While the browser is still asking, what the user wants shows.
  const cameraOn = cameraIsOn() || (local.starting && local.cameraWanted);
  const micOn = micIsOn() || (local.starting && local.micWanted);
  setToggle($("preview-camera"), cameraOn, "camera");
  setToggle($("camera-button"), cameraOn, "camera", cameraOn ? "Stop video" : "Start video");
  setToggle($("preview-mic"), micOn, "microphone");
  setToggle($("mic-button"), micOn, "microphone", micOn ? "Mute" : "Unmute");
  const troubles = [local.cameraWanted && local.cameraTrouble, local.micWanted && local.micTrouble].filter(Boolean);
  $("device-message").textContent = troubles.length
    ? troubles.join(" ") + " You can still join; the others will not see or hear what is missing."
    : "";
}

function setToggle(button, on, device, label) {
  button.setAttribute("aria-pressed", String(on));
  button.setAttribute("aria-label", `Turn ${device} ${on ? "off" : "on"}`);
  button.classList.toggle("off", !on);
  const caption = button.querySelector(".control-label");
  if (caption && label) caption.textContent = label;
}

/** The microphone's level in the lobby, so a user can see that it hears them. */
const levelMeter = {
  context: null,
  analyser: null,
  source: null,
  samples: null,
  running: false,

  follow(track) {
    if (this.source) this.source.disconnect();
    this.source = null;
    if (!track || !window.AudioContext) return;
    if (!this.context) {
      this.context = new AudioContext();
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 1024;
      this.samples = new Float32Array(this.analyser.fftSize);
    }
    this.source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.source.connect(this.analyser);
    this.start();
  },

  start() {
    if (this.running || !this.analyser) return;
    this.running = true;
    const draw = () => {
      if (!this.running) return;
      this.analyser.getFloatTimeDomainData(this.samples);
      const meanSquare = this.samples.reduce((sum, s) => sum + s * s, 0) / this.samples.length;
      // -60 dBFS to 0 dBFS across the bar.
      const db = 10 * Math.log10(meanSquare || 1e-12);
      const level = Math.min(1, Math.max(0, (db + 60) / 60));
      $("mic-level").style.transform = `scaleX(${level})`;
      $("mic-level").parentElement.setAttribute("aria-valuenow", String(Math.round(level * 100)));
      requestAnimationFrame(draw);
    };
    requestAnimationFrame(draw);
  },

  stop() {
    this.running = false;
  },

  /** Browsers start sound only after a click; the meter waits for one. */
  wake() {
    if (this.context && this.context.state === "suspended") this.context.resume().catch(() => {});
  },
};

async function startSharing() {
  if (local.screen || !canShareScreen) return;
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    if (error.name === "NotAllowedError") toast("The screen is not shared.");
    else problem("The screen could not be shared: " + describeError(error));
    return;
  }
  const track = stream.getVideoTracks()[0];
  track.contentHint = "detail";
  track.addEventListener("ended", () => stopSharing(true));
  local.screen = track;
  // As Video Meet does: the state first, then the pictures on the screen's m-line.
  sendMediaState();
  for (const link of meeting.links.values()) await link.sendOwn("screen");
  const settings = track.getSettings();
  report({ event: "sharing", width: settings.width, height: settings.height });
  showSharing();
}

/** Stops our share; `tellHost` is false when the host already took it as stopped. */
function stopSharing(tellHost) {
  if (!local.screen) return;
  local.screen.stop();
  local.screen = null;
  for (const link of meeting.links.values()) link.sendOwn("screen");
  if (tellHost) sendMediaState();
  showSharing();
}

function showSharing() {
  const sharing = Boolean(local.screen);
  const button = $("share-button");
  button.setAttribute("aria-pressed", String(sharing));
  button.setAttribute("aria-label", sharing ? "Stop sharing your screen" : "Share your screen");
  button.querySelector(".control-label").textContent = sharing ? "Stop share" : "Share";
  button.classList.toggle("active", sharing);
  $("sharing-badge").hidden = !sharing;
}

// ---------------------------------------------------------------------------------------
// The meeting: who is in it, and what we send the host
// ---------------------------------------------------------------------------------------

const meeting = {
  session: newSessionToken(),
  signaling: null,
  /** "lobby", "joining", "waiting", "in" or "over". */
  phase: "lobby",
  you: null,
  info: {},
  forwarding: false,
  hostId: null,
  joinedAt: 0,
  /** Participant id -> Person (everyone but us). */
  people: new Map(),
  /** Participant id -> Link: our media connections. */
  links: new Map(),
  /** Our raised hand's place, or null while it is down. */
  hand: null,
  /** The passcode the user gave, sent with every `hello` from then on. */
  passcode: "",
  unread: 0,
  firstPictureAt: null,
  firstConnectionUp: false,
};

function yourName() {
  return $("name-input").value.trim();
}

function send(message) {
  if (meeting.signaling) meeting.signaling.send(message);
}

/** What we send, for `hello` and `media_state`. */
function mediaState() {
  const media = { mic: micIsOn(), camera: cameraIsOn(), screen: Boolean(local.screen) };
  if (meeting.hand !== null) media.hand = meeting.hand;
  const camera = cameraToSend();
  if (camera) {
    const { width, height } = camera.getSettings();
    if (width && height) media.camera_size = [width, height];
  }
  return media;
}

function sendMediaState() {
  if (meeting.phase === "in") send({ type: "media_state", media: mediaState() });
}

class Person {
  constructor(peer) {
    this.id = peer.id;
    this.name = peer.name;
    this.isHost = Boolean(peer.is_host);
    this.isCohost = Boolean(peer.cohost);
    this.media = peer.media || { mic: false, camera: false, screen: false };
    /** What arrives from them: kind ("camera", "screen", "audio") -> { track, link, mid }. */
    this.feeds = new Map();
    this.reconnecting = false;
    this.tile = new Tile(this, "camera");
    this.screenTile = null;
    this.speaker = null;
  }

  label() {
    if (this.isHost) return `${this.name} (host)`;
    return this.isCohost ? `${this.name} (co-host)` : this.name;
  }

  /** Takes what a connection now says arrives from this person; true when it changed. */
  receive(kind, feed) {
    const before = this.feeds.get(kind);
    if (before && feed && before.track === feed.track && before.mid === feed.mid) return false;
    if (!before && !feed) return false;
    if (feed) this.feeds.set(kind, feed);
    else this.feeds.delete(kind);
    this.show();
    return true;
  }

  /** Brings the tiles and the speaker up to date with their media and state. */
  show() {
    this.tile.show(this.feeds.get("camera"), this.media.camera);
    const sharing = this.media.screen && this.feeds.has("screen");
    if (sharing && !this.screenTile) this.screenTile = new Tile(this, "screen");
    if (this.screenTile) {
      if (sharing) this.screenTile.show(this.feeds.get("screen"), true);
      else {
        this.screenTile.remove();
        this.screenTile = null;
      }
    }
    this.playSound(this.feeds.get("audio"));
    arrangeStage();
  }

  playSound(feed) {
    const track = feed ? feed.track : null;
    if (!track) {
      if (this.speaker) this.speaker.remove();
      this.speaker = null;
      return;
    }
    if (this.speaker && this.speaker.srcObject.getAudioTracks()[0] === track) return;
    if (!this.speaker) {
      this.speaker = element("audio");
      this.speaker.autoplay = true;
      $("speakers").append(this.speaker);
    }
    // Played, as a user hears it (Chromium decodes received sound only while it is played).
    this.speaker.srcObject = new MediaStream([track]);
    playOrAsk(this.speaker);
  }

  leave() {
    this.tile.remove();
    if (this.screenTile) this.screenTile.remove();
    this.playSound(null);
  }
}

/** Browsers may refuse to start sound before the user clicked: then we ask for a click. */
function playOrAsk(media) {
  media.play().catch((error) => {
    if (error.name !== "NotAllowedError") return;
    $("sound-button").hidden = false;
  });
}

function playAllSound() {
  $("sound-button").hidden = true;
  for (const person of meeting.people.values()) if (person.speaker) playOrAsk(person.speaker);
  for (const video of document.querySelectorAll(".tile video")) video.play().catch(() => {});
}

/** One participant's camera (or shared screen) on the stage. */
class Tile {
  constructor(person, kind) {
    this.person = person;
    this.kind = kind;
    this.track = null;
    this.root = $("tile-template").content.firstElementChild.cloneNode(true);
    this.root.classList.add(kind);
    this.root.dataset.id = String(person.id);
    this.video = this.root.querySelector("video");
    this.video.muted = true; // its sound plays apart, see Person.playSound
    this.visible = true;
    this.reactionTimer = 0;
    (kind === "screen" ? $("screens") : $("tiles")).append(this.root);
    stageObservers.visibility.observe(this.root);
  }

  /** Shows `feed`'s track, or the person's initials when there is none or `on` is false. */
  show(feed, on) {
    const person = this.person;
    const track = feed ? feed.track : null;
    if (track !== this.track) {
      this.track = track;
      this.video.srcObject = track ? new MediaStream([track]) : null;
      if (track) {
        this.video.play().catch(() => {});
        watchFirstPicture(this.video, person.id, this.kind);
      }
    }
    const picture = Boolean(track) && on;
    this.video.hidden = !picture;
    this.root.classList.toggle("no-picture", !picture);
    this.root.querySelector(".initials").textContent = initialsOf(person.name);
    const name = this.kind === "screen" ? `${person.name}'s screen` : person.label();
    this.root.querySelector(".tile-name").textContent = name;
    this.root.setAttribute("aria-label", name);
    const muted = this.kind === "camera" && !person.media.mic;
    this.root.querySelector(".muted-mark").hidden = !muted;
    const hand = this.kind === "camera" ? person.media.hand : undefined;
    this.root.querySelector(".hand-mark").hidden = hand === undefined || hand === null;
    this.root.querySelector(".hand-place").textContent = hand ? String(hand) : "";
    this.root.querySelector(".tile-state").textContent = person.reconnecting ? "reconnecting…" : "";
  }

  react(emoji) {
    const shown = this.root.querySelector(".reaction");
    shown.textContent = emoji;
    clearTimeout(this.reactionTimer);
    this.reactionTimer = setTimeout(() => (shown.textContent = ""), REACTION_MS);
  }

  /** How large the camera is drawn, in device pixels: 0x0 when it is not on screen. */
  drawnSize() {
    if (!this.visible || document.visibilityState === "hidden") return { width: 0, height: 0 };
    const box = this.root.getBoundingClientRect();
    const scale = window.devicePixelRatio || 1;
    return { width: Math.round(box.width * scale), height: Math.round(box.height * scale) };
  }

  remove() {
    stageObservers.visibility.unobserve(this.root);
    this.root.remove();
  }
}

function addPerson(peer) {
  if (peer.id === meeting.you || meeting.people.has(peer.id)) return;
  const person = new Person(peer);
  meeting.people.set(peer.id, person);
  person.show();
  showPeople();
}

function removePerson(id) {
  const person = meeting.people.get(id);
  if (!person) return;
  person.leave();
  meeting.people.delete(id);
  arrangeStage();
  showPeople();
}

function personName(id) {
  const person = meeting.people.get(id);
  return person ? person.label() : `participant ${id}`;
}

// ---------------------------------------------------------------------------------------
// Media connections
// ---------------------------------------------------------------------------------------

/** Whether this browser sends and receives H.264, the only video Video Meet speaks. */
const speaksH264 = (() => {
  if (!window.RTCRtpSender || !RTCRtpSender.getCapabilities) return true; // cannot tell: try
  const video = RTCRtpSender.getCapabilities("video");
  return Boolean(video && video.codecs.some((codec) => /^video\/h264$/i.test(codec.mimeType)));
})();

/** The m-lines of a description in order: `{ mid, kind }` with kind "audio" or "video". */
function mediaSections(sdp) {
  const sections = [];
  for (const section of (sdp || "").split(/\r?\nm=/).slice(1)) {
    const kind = section.split(" ", 1)[0];
    const mid = /\r?\na=mid:(\S+)/.exec(section);
    if (mid) sections.push({ mid: mid[1], kind });
  }
  return sections;
}

/** A description's first DTLS fingerprint as PROTOCOL.md "Safety codes" writes it:
 * "SHA-256 AB12...". */
function fingerprintOf(sdp) {
  const found = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp || "");
  return found ? `${found[1].toUpperCase()} ${found[2].replace(/:/g, "").toUpperCase()}` : null;
}

/** The safety code of a connection whose offer and answer declare fingerprints `a` and `b`. */
async function safetyCode(a, b) {
  const [first, second] = [a, b].sort();
  const text = `videomeet safety code v1\n${first}\n${second}`;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const number = hash.slice(0, 5).reduce((n, byte) => n * 256 + byte, 0) % 1e12;
  return String(number).padStart(12, "0").replace(/(\d{3})(?=\d)/g, "$1 ");
}

/**
 * Our media connection to one participant (with forwarding: to the host, carrying everyone).
 *
 * PROTOCOL.md, "Media sections": the first video m-line carries the camera, the second the
 * screen, and the audio m-line the sound, both ways, on the m-lines a forwarding host's
 * `feeds` does not name; those it names carry the participant it says.
 */
class Link {
  constructor(remoteId) {
    this.remoteId = remoteId;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    /** Our own transceivers by what they carry: "camera", "screen", "audio". */
    this.own = { camera: null, screen: null, audio: null };
    /** The latest offer's `feeds`: mid -> { from, kind }. */
    this.feeds = new Map();
    /** Candidates that came before the description they belong to. */
    this.heldCandidates = [];
    this.holdingCandidates = true;
    /** Signals are handled one at a time, in the order they came. */
    this.work = Promise.resolve();
    this.connected = false;
    this.safetyCode = null;
    this.restartTimer = 0;
    this.lastRestartAt = -Infinity;
    this.pc.addEventListener("icecandidate", (e) => this.sendCandidate(e.candidate));
    this.pc.addEventListener("connectionstatechange", () => this.connectionChanged());
    this.pc.addEventListener("iceconnectionstatechange", () => this.pathChanged());
    meeting.links.set(remoteId, this);
  }

  /** PROTOCOL.md, Re-offers: the side that offered first restarts ICE; with forwarding, the guest. */
  get restartsIce() {
    return meeting.forwarding || this.remoteId < meeting.you;
  }

  /** Opens the connection with our offer: camera, screen, then sound. */
  static offerTo(remoteId) {
    const link = new Link(remoteId);
    const init = { direction: "sendrecv", streams: [local.stream] };
    if (speaksH264) {
      link.own.camera = link.pc.addTransceiver(cameraToSend() || "video", init);
      link.own.screen = link.pc.addTransceiver(local.screen || "video", init);
    }
    link.own.audio = link.pc.addTransceiver(local.mic || "audio", init);
    link.queue(() => link.offer({}));
    return link;
  }

  queue(step) {
    this.work = this.work.then(step).catch((error) => {
      problem(`The connection to ${personName(this.remoteId)} failed a step: ${describeError(error)}`);
    });
  }

  send(signal) {
    send({ type: "signal", to: this.remoteId, signal });
  }

  async offer(options) {
    const offer = await this.pc.createOffer(options);
    await this.pc.setLocalDescription(offer);
    // Candidates of a restart belong to the answer's credentials: they wait for it.
    if (options.iceRestart) this.holdingCandidates = true;
    this.send({ kind: "offer", sdp: this.pc.localDescription.sdp });
  }

  handle(signal) {
    switch (signal.kind) {
      case "offer":
        this.queue(() => this.acceptOffer(signal));
        break;
      case "answer":
        this.queue(() => this.acceptAnswer(signal));
        break;
      case "candidate":
        this.queue(() => this.takeCandidate(signal));
        break;
      case "layers":
        // We send our camera whole (no layer m-lines): there is nothing to switch.
        break;
      default:
        problem(`${personName(this.remoteId)} sent a "${signal.kind}" signal this page does not know.`);
    }
  }

  async acceptOffer(signal) {
    if (this.pc.signalingState === "have-local-offer") {
      // PROTOCOL.md, Offers that cross: the host withdraws its offer and offers again once
      // it has answered ours; this one gets no answer.
      console.info(`An offer from ${personName(this.remoteId)} crossed ours; it is left unanswered.`);
      return;
    }
    await this.pc.setRemoteDescription({ type: "offer", sdp: signal.sdp });
    const fromForwardingHost = meeting.forwarding && this.remoteId === meeting.hostId;
    this.feeds = new Map(fromForwardingHost ? (signal.feeds || []).map((feed) => [String(feed.mid), feed]) : []);
    await this.takeTransceivers();
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    this.send({ kind: "answer", sdp: this.pc.localDescription.sdp });
    await this.releaseCandidates();
    this.negotiated();
  }

  async acceptAnswer(signal) {
    if (this.pc.signalingState !== "have-local-offer") {
      problem(`${personName(this.remoteId)} answered an offer this page had not made.`);
      return;
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp: signal.sdp });
    await this.releaseCandidates();
    this.negotiated();
  }

  async takeCandidate(signal) {
    if (typeof signal.candidate !== "string") {
      problem(`${personName(this.remoteId)} sent a candidate without its text.`);
      return;
    }
    // A browser's end of candidates: nothing to add.
    if (signal.candidate === "") return;
    if (this.holdingCandidates) this.heldCandidates.push(signal);
    else await this.addCandidate(signal);
  }

  async releaseCandidates() {
    this.holdingCandidates = false;
    for (const candidate of this.heldCandidates.splice(0)) await this.addCandidate(candidate);
  }

  /** Adds a remote candidate. Everything is bundled, so one without a known m-line goes to
   * the first. */
  async addCandidate(signal) {
    const hasMid = typeof signal.sdpMid === "string";
    const hasIndex = Number.isInteger(signal.sdpMLineIndex);
    const init = {
      candidate: signal.candidate,
      sdpMid: hasMid ? signal.sdpMid : null,
      sdpMLineIndex: hasIndex ? signal.sdpMLineIndex : hasMid ? null : 0,
    };
    try {
      await this.pc.addIceCandidate(init);
    } catch (error) {
      try {
        await this.pc.addIceCandidate({ candidate: signal.candidate, sdpMLineIndex: 0 });
      } catch {
        problem(`A network address from ${personName(this.remoteId)} was refused: ${describeError(error)}`);
      }
    }
  }

  sendCandidate(candidate) {
    // The end of candidates is not sent (PROTOCOL.md, Candidates).
    if (!candidate || !candidate.candidate) return;
    this.send({
      kind: "candidate",
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid,
      sdpMLineIndex: candidate.sdpMLineIndex,
    });
  }

  /** What each m-line carries, in description order: mid -> { from, kind } where `kind` is
   * "camera", "screen" or "audio", or null for an m-line that carries nothing. */
  roles() {
    const description = this.pc.remoteDescription || this.pc.localDescription;
    const roles = new Map();
    let videos = 0;
    let audios = 0;
    for (const { mid, kind } of mediaSections(description && description.sdp)) {
      const feed = this.feeds.get(mid);
      if (feed) {
        roles.set(mid, { from: feed.from, kind: feed.kind });
      } else if (kind === "video") {
        roles.set(mid, { from: this.remoteId, kind: ["camera", "screen"][videos++] || null });
      } else if (kind === "audio") {
        roles.set(mid, { from: this.remoteId, kind: audios++ === 0 ? "audio" : null });
      }
    }
    return roles;
  }

  transceiverOf(mid) {
    return this.pc.getTransceivers().find((t) => t.mid === mid) || null;
  }

  /** After a remote offer: our own media on the m-lines that carry it (first video: camera,
   * second: screen, first audio: sound), receiving only on those that carry someone else's,
   * nothing on the rest. */
  async takeTransceivers() {
    for (const [mid, role] of this.roles()) {
      const transceiver = this.transceiverOf(mid);
      if (!transceiver || transceiver.stopped) continue;
      const named = this.feeds.has(mid);
      if (!named && role.kind && !this.own[role.kind]) {
        this.own[role.kind] = transceiver;
        transceiver.direction = "sendrecv";
        if (transceiver.sender.setStreams) transceiver.sender.setStreams(local.stream);
        await this.sendOwn(role.kind);
      } else if (named) {
        // PROTOCOL.md, Forwarding: the host only sends on these.
        transceiver.direction = "recvonly";
      } else if (!Object.values(this.own).includes(transceiver)) {
        transceiver.direction = "inactive";
      }
    }
  }

  /** Puts what we have now on our own m-line for `kind`. */
  async sendOwn(kind) {
    const transceiver = this.own[kind];
    if (!transceiver) return;
    const track = { camera: cameraToSend(), screen: local.screen, audio: local.mic }[kind];
    if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
  }

  /** A negotiation ended: hand each received track to whoever it belongs to now. */
  negotiated() {
    const now = new Map(); // person id -> kind -> feed
    for (const [mid, role] of this.roles()) {
      const transceiver = this.transceiverOf(mid);
      const direction = transceiver && transceiver.currentDirection;
      if (!role.kind || (direction !== "sendrecv" && direction !== "recvonly")) continue;
      if (!now.has(role.from)) now.set(role.from, new Map());
      now.get(role.from).set(role.kind, { track: transceiver.receiver.track, link: this, mid });
    }
    for (const person of meeting.people.values()) {
      for (const kind of ["camera", "screen", "audio"]) {
        const feed = now.has(person.id) ? now.get(person.id).get(kind) : undefined;
        const current = person.feeds.get(kind);
        // Feeds from our other connections (with a mesh) are theirs to change.
        if (feed || (current && current.link === this)) person.receive(kind, feed || null);
      }
    }
    for (const [id] of now) {
      if (id !== this.remoteId && !meeting.people.has(id)) {
        problem(`The host's offer names participant ${id}, who is not in the meeting.`);
      }
    }
    this.updateSafetyCode();
    scheduleView();
  }

  /** What a track arriving on `mid` is called in the reports: "camera", "screen" and "audio"
   * for the other end's own media; "camera of 3" for participant 3's, forwarded. */
  nameOfMid(mid) {
    const role = this.roles().get(mid);
    if (!role || !role.kind) return "mid " + mid;
    return role.from === this.remoteId ? role.kind : `${role.kind} of ${role.from}`;
  }

  async updateSafetyCode() {
    const ours = fingerprintOf(this.pc.localDescription && this.pc.localDescription.sdp);
    const theirs = fingerprintOf(this.pc.remoteDescription && this.pc.remoteDescription.sdp);
    if (!ours || !theirs) return;
    const code = await safetyCode(ours, theirs);
    if (code === this.safetyCode) return;
    this.safetyCode = code;
    report({ event: "safety_code", id: this.remoteId, code });
    showConnections();
  }

  connectionChanged() {
    const state = this.pc.connectionState;
    report({ event: "connection", id: this.remoteId, state });
    if (state === "connected" && !this.connected) {
      this.connected = true;
      firstConnectionUp();
    }
    showConnections();
  }

  /** Watches the path: the side that restarts ICE does so while it stays broken. */
  pathChanged() {
    const state = this.pc.iceConnectionState;
    const broken = state === "disconnected" || state === "failed";
    this.showReconnecting(broken && this.connected);
    clearTimeout(this.restartTimer);
    if (!broken || !this.restartsIce || this.pc.connectionState === "closed") return;
    const wait = Math.max(
      state === "failed" ? 0 : RESTART_AFTER_MS,
      this.lastRestartAt + RESTART_EVERY_MS - performance.now(),
    );
    this.restartTimer = setTimeout(() => this.restartIce(), wait);
  }

  restartIce() {
    const state = this.pc.iceConnectionState;
    if (state !== "disconnected" && state !== "failed") return;
    if (this.pc.signalingState === "stable") {
      this.lastRestartAt = performance.now();
      this.queue(() => this.offer({ iceRestart: true }));
    }
    this.restartTimer = setTimeout(() => this.restartIce(), RESTART_EVERY_MS);
  }

  showReconnecting(reconnecting) {
    const affected = meeting.forwarding ? [...meeting.people.values()] : [meeting.people.get(this.remoteId)];
    for (const person of affected.filter(Boolean)) {
      person.reconnecting = reconnecting;
      person.tile.show(person.feeds.get("camera"), person.media.camera);
    }
    $("reconnecting").hidden = ![...meeting.links.values()].some((link) => link.isBroken());
  }

  isBroken() {
    return this.connected && ["disconnected", "failed"].includes(this.pc.iceConnectionState);
  }

  close() {
    clearTimeout(this.restartTimer);
    this.pc.close();
    meeting.links.delete(this.remoteId);
    for (const person of meeting.people.values()) {
      for (const [kind, feed] of [...person.feeds]) if (feed.link === this) person.receive(kind, null);
    }
  }
}

function firstConnectionUp() {
  if (meeting.firstConnectionUp) return;
  meeting.firstConnectionUp = true;
  if (testHooks.shareAfterSeconds !== null && canShareScreen) {
    setTimeout(() => startSharing(), testHooks.shareAfterSeconds * 1000);
  }
}

/** The first decoded picture from anyone, timed from the page's start (the join time). */
function watchFirstPicture(video, id, feed) {
  if (meeting.firstPictureAt !== null || !video.requestVideoFrameCallback) return;
  video.requestVideoFrameCallback(() => noteFirstPicture(id, feed, "shown"));
}

function noteFirstPicture(id, feed, how) {
  if (meeting.firstPictureAt !== null) return;
  meeting.firstPictureAt = performance.now();
  report({ event: "first_picture", ms: Math.round(meeting.firstPictureAt), id, feed, how });
}

// ---------------------------------------------------------------------------------------
// The stage: tiles laid out to fit, and the host told how large each camera is drawn
// ---------------------------------------------------------------------------------------

const stageObservers = {
  size: new ResizeObserver(() => arrangeStage()),
  visibility: new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const tile = findTile(entry.target);
      if (tile) tile.visible = entry.isIntersecting;
    }
    scheduleView();
  }),
};

function findTile(root) {
  const person = meeting.people.get(Number(root.dataset.id));
  if (!person) return null;
  return root.classList.contains("screen") ? person.screenTile : person.tile;
}

/** The number of columns that draws `count` tiles largest in `width` x `height`. */
function bestColumns(count, width, height, maxColumns) {
  let best = { columns: 1, tileWidth: 0 };
  for (let columns = 1; columns <= Math.min(count, maxColumns); columns++) {
    const rows = Math.ceil(count / columns);
    const tileWidth = Math.min(
      (width - TILE_GAP_PX * (columns - 1)) / columns,
      ((height - TILE_GAP_PX * (rows - 1)) / rows) * TILE_ASPECT,
    );
    if (tileWidth > best.tileWidth) best = { columns, tileWidth };
  }
  return best;
}

function arrangeStage() {
  const tiles = $("tiles");
  const count = tiles.children.length;
  const sharing = $("screens").children.length > 0;
  $("screens").hidden = !sharing;
  $("stage").classList.toggle("presenting", sharing);
  $("alone").hidden = count > 0 || meeting.phase !== "in";
  if (count > 0) {
    const { width, height } = tiles.getBoundingClientRect();
    const narrow = window.innerWidth < NARROW_PX;
    let { columns, tileWidth } = bestColumns(count, width, height, narrow ? 2 : count);
    if (narrow && tileWidth / TILE_ASPECT < NARROW_MIN_TILE_HEIGHT_PX) {
      // Too many for a phone's screen: two columns that scroll.
      columns = Math.min(2, count);
      tileWidth = (width - TILE_GAP_PX * (columns - 1)) / columns;
    }
    tiles.style.setProperty("--columns", String(columns));
    tiles.style.setProperty("--tile-width", `${Math.floor(Math.max(tileWidth, 1))}px`);
    tiles.style.setProperty("--tile-height", `${Math.floor(Math.max(tileWidth / TILE_ASPECT, 1))}px`);
  }
  scheduleView();
}

let viewTimer = 0;
let lastView = "";

/** PROTOCOL.md, Layers: the host sends each camera at the size we draw it at. */
function scheduleView() {
  if (!meeting.forwarding || meeting.phase !== "in") return;
  clearTimeout(viewTimer);
  viewTimer = setTimeout(sendView, VIEW_SETTLE_MS);
}

function sendView() {
  const host = meeting.links.get(meeting.hostId);
  if (!host || meeting.phase !== "in") return;
  const sizes = [...meeting.people.values()].map((person) => ({ id: person.id, ...person.tile.drawnSize() }));
  const view = JSON.stringify(sizes);
  if (view === lastView) return;
  lastView = view;
  host.send({ kind: "view", sizes });
}

// ---------------------------------------------------------------------------------------
// Signaling
// ---------------------------------------------------------------------------------------

function signalingAddress() {
  if (testHooks.signalAddress) return `ws://${testHooks.signalAddress}/`;
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
}

/** The WebSocket to the host: JSON in and out, a ping every 2 s, and the host counted lost
 * after 15 s without a word. */
class Signaling {
  constructor(onMessage, onClosed) {
    this.onMessage = onMessage;
    this.onClosed = onClosed;
    this.nonce = 0;
    this.heardAt = performance.now();
    this.pinger = 0;
    /** Why we are done with it, once we are: then its closing is no news. */
    this.finished = null;
    this.socket = new WebSocket(signalingAddress());
    this.opened = new Promise((resolve) => this.socket.addEventListener("open", resolve, { once: true }));
    this.socket.addEventListener("message", (event) => this.receive(event.data));
    this.socket.addEventListener("close", (event) => this.closed(event));
  }

  send(message) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  startPinging() {
    this.pinger = setInterval(() => {
      if (performance.now() - this.heardAt > HOST_SILENCE_MS) {
        this.finish("lost");
        this.onClosed("lost");
        return;
      }
      this.send({ type: "ping", nonce: ++this.nonce });
    }, PING_EVERY_MS);
  }

  receive(data) {
    this.heardAt = performance.now();
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      problem("The host sent a message this page cannot read.");
      return;
    }
    if (!message || typeof message.type !== "string") {
      problem("The host sent a message without a type.");
      return;
    }
    this.onMessage(message);
  }

  closed(event) {
    clearInterval(this.pinger);
    report({ event: "closed", code: event.code });
    if (!this.finished) this.onClosed("closed");
  }

  /** Done on purpose (or lost): stops pinging and closes quietly. */
  finish(why) {
    this.finished = why;
    clearInterval(this.pinger);
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close();
  }
}

async function join() {
  if (meeting.phase === "joining" || meeting.phase === "waiting" || meeting.phase === "in") return;
  const name = yourName();
  if (!name) {
    showLobbyMessage("Enter your name to join.");
    $("name-input").focus();
    return;
  }
  const code = meetingCode();
  if (code === undefined) {
    showLobbyMessage("The meeting code has 8 letters and digits, as in the invitation.");
    $("code-input").focus();
    return;
  }
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Private browsing may refuse storage: the name is simply not remembered.
  }
  meeting.passcode = $("passcode-input").value;
  levelMeter.wake();
  showLobbyTitle();
  setPhase("joining");
  showLobbyMessage("Joining…");
  const signaling = new Signaling(onHostMessage, (why) => signalingEnded(signaling, why));
  meeting.signaling = signaling;
  await signaling.opened;
  if (meeting.signaling !== signaling) return;
  const hello = { type: "hello", version: PROTOCOL_VERSION, name, session: meeting.session, media: mediaState() };
  if (code) hello.code = code;
  // PROTOCOL.md: a passcode only when there is one (never an empty one).
  if (meeting.passcode) hello.passcode = meeting.passcode;
  signaling.send(hello);
  signaling.startPinging();
}

/** The code from the address (/CODE) or the code field; "" for none, undefined when what
 * was typed is no code. */
function meetingCode() {
  const fromPath = codeFromPath();
  if (fromPath) return fromPath;
  const typed = $("code-input").value.replace(/[\s-]/g, "").toUpperCase();
  if (!typed) return "";
  return MEETING_CODE.test(typed) ? typed : undefined;
}

function codeFromPath() {
  const code = location.pathname.slice(1).toUpperCase();
  return MEETING_CODE.test(code) ? code : "";
}

const hostMessages = {
  waiting(message) {
    setPhase("waiting");
    report({ event: "waiting", message });
    $("lobby-title").textContent = "Waiting to be let in";
    showLobbyMessage("The host will let you in.");
  },
  welcome: enterMeeting,
  denied(message) {
    report({ event: "denied", message });
    meeting.signaling.finish("denied");
    leaveMeeting();
    const reason = DENIED_REASONS[message.reason] || message.message || "The host did not let you in.";
    if (message.reason === "wrong_passcode" || message.reason === "too_many_tries") askForPasscode();
    if (message.reason === "wrong_passcode" && !meeting.passcode) {
      showOver("This meeting has a passcode", "Enter the passcode you were given, then join.", "Join");
    } else if (message.reason === "version_mismatch") {
      showOver("Cannot join", `${reason} ${versionAdvice(message.version)}`, "Try again");
    } else {
      showOver("Cannot join", reason, "Try again");
    }
  },
  peer_joined(message) {
    addPerson(message.peer);
    toast(`${message.peer.name} joined`);
    scheduleView();
  },
  peer_left(message) {
    report({ event: "peer_left", message });
    const name = personName(message.id);
    const link = meeting.links.get(message.id);
    if (link) link.close();
    removePerson(message.id);
    toast(`${name} ${LEFT_REASONS[message.reason] || "left"}`);
    showConnections();
  },
  signal(message) {
    onSignal(message.from, message.signal || {});
  },
  chat: showChat,
  // Files are taken in the Video Meet program; the page says one was offered.
  file_offered: (message) =>
    showChat({
      ...message,
      text: `offers the file ${message.file} (${Math.max(1, Math.round(message.size / 1024))} KB); open the meeting in Video Meet to receive files`,
    }),
  reaction(message) {
    const person = meeting.people.get(message.from);
    if (person) person.tile.react(message.emoji);
  },
  media_state(message) {
    if (message.id === meeting.you) {
      // Our hand's place in the queue, or the host put it down.
      meeting.hand = message.media && Number.isInteger(message.media.hand) ? message.media.hand : null;
      showHand();
      return;
    }
    const person = meeting.people.get(message.id);
    if (!person) return;
    const wasRecording = Boolean(person.media.recording);
    person.media = message.media || person.media;
    // Everyone is told who records (PROTOCOL.md, Recording).
    if (Boolean(person.media.recording) !== wasRecording) {
      toast(person.media.recording ? `${person.name} is recording the meeting.` : `${person.name} stopped recording.`);
    }
    person.show();
    showPeople();
  },
  // This page does not record: who may record changes nothing here, and a refusal cannot
  // come.
  guest_recording() {},
  recording_refused() {},
  pong() {},
  ping(message) {
    send({ type: "pong", nonce: message.nonce });
  },
  renamed(message) {
    if (message.id === meeting.you) {
      $("name-input").value = message.name;
      showDeviceState();
    } else {
      const person = meeting.people.get(message.id);
      if (!person) return;
      person.name = message.name;
      person.show();
      showConnections();
    }
    showPeople();
  },
  // Told to co-hosts; this page has no lock control, so there is nothing to show.
  locked() {},
  cohost(message) {
    if (message.id === meeting.you) {
      toast(message.cohost ? "The host made you a co-host." : "You are no longer a co-host.");
      return;
    }
    const person = meeting.people.get(message.id);
    if (!person) return;
    person.isCohost = Boolean(message.cohost);
    person.show();
    showPeople();
  },
  turned_off(message) {
    const by = personName(message.by);
    if (message.device === "mic") setMic(false);
    else if (message.device === "camera") setCamera(false);
    else if (message.device === "screen") stopSharing(true);
    else return problem(`${by} turned off a device this page does not know ("${message.device}").`);
    toast(`${by} turned your ${DEVICE_WORDS[message.device]} off.`);
  },
  asked_to_turn_on(message) {
    const device = message.device;
    if (device !== "mic" && device !== "camera") {
      return problem(`${personName(message.by)} asked to turn on a device this page does not know ("${device}").`);
    }
    const turnOn = () => (device === "mic" ? setMic(true) : setCamera(true));
    toast(`${personName(message.by)} asks you to turn your ${DEVICE_WORDS[device]} on.`, "note", { label: "Turn on", run: turnOn });
  },
  knocking(message) {
    toast(`${message.name} is waiting to be let in.`);
  },
  knock_ended() {},
  passcode_guessing() {
    toast("Many wrong passcodes came in: the meeting now slows down guessing.", "problem");
  },
  share_refused(message) {
    report({ event: "share_refused", message });
    stopSharing(false);
    toast(`${message.name || "Someone"} is sharing already: the host allows one screen at a time.`, "problem");
  },
  error(message) {
    report({ event: "error", message });
    toast(`The host refused a message: ${message.message}`, "problem");
  },
  removed(message) {
    report({ event: "removed", message });
    meeting.signaling.finish("removed");
    leaveMeeting();
    showOver("You were removed", "The host removed you from the meeting.", null);
  },
  ended(message) {
    report({ event: "ended", message });
    meeting.signaling.finish("ended");
    leaveMeeting();
    showOver("The meeting has ended", "The host ended the meeting.", "Rejoin");
  },
};

function onHostMessage(message) {
  const handler = Object.hasOwn(hostMessages, message.type) ? hostMessages[message.type] : null;
  if (handler) handler(message);
  else problem(`The host sent a "${message.type}" message, which this page does not know.`);
}

function versionAdvice(hostVersion) {
  if (!Number.isInteger(hostVersion)) return "";
  return hostVersion > PROTOCOL_VERSION
    ? "The host's program is newer: reload this page from it."
    : "The host's program is older: the host should update it.";
}

function signalingEnded(signaling, why) {
  if (meeting.signaling !== signaling) return;
  const wasIn = meeting.phase === "in" || meeting.phase === "waiting";
  leaveMeeting();
  if (wasIn || why === "lost") {
    showOver("Connection lost", "The connection to the meeting was lost.", "Rejoin");
  } else {
    showOver("Cannot join", `The meeting could not be reached at ${signalingAddress()}.`, "Try again");
  }
}

function enterMeeting(welcome) {
  meeting.you = welcome.you;
  meeting.info = welcome.meeting || {};
  meeting.forwarding = meeting.info.forwarding === true;
  meeting.joinedAt = Date.now();
  const peers = Array.isArray(welcome.peers) ? welcome.peers : [];
  const host = peers.find((peer) => peer.is_host);
  meeting.hostId = host ? host.id : null;
  report({ event: "welcome", you: meeting.you, peers: peers.map((p) => p.id), forwarding: meeting.forwarding });
  setPhase("in");
  for (const peer of peers) addPerson(peer);
  const recording = peers.filter((peer) => peer.media && peer.media.recording).map((peer) => peer.name);
  if (recording.length > 0) {
    toast(`${recording.join(" and ")} ${recording.length === 1 ? "is" : "are"} recording this meeting: what you say and show is in the recording.`);
  }
  // PROTOCOL.md, Who offers: the later joiner offers: with forwarding to the host alone,
  // without to everyone already here.
  if (meeting.forwarding) {
    if (host) Link.offerTo(host.id);
    else problem("The meeting forwards media, but its host is not among the participants.");
  } else {
    for (const peer of peers) Link.offerTo(peer.id);
  }
  // `hello` cannot say how large our camera is.
  sendMediaState();
  showMeetingFacts();
  showConnections();
  showPeople();
  arrangeStage();
}

function onSignal(from, signal) {
  if (meeting.phase !== "in") return;
  if (meeting.forwarding && from !== meeting.hostId) {
    // PROTOCOL.md, Who offers: with forwarding, guests signal nothing to each other.
    problem(`${personName(from)} signalled to this page directly, which a forwarding meeting does not do.`);
    return;
  }
  let link = meeting.links.get(from);
  if (!link && signal.kind === "offer" && !meeting.forwarding && from > meeting.you) {
    // They joined after us: they offer, we answer.
    link = new Link(from);
  }
  if (!link) {
    if (signal.kind !== "candidate") problem(`${personName(from)} sent a "${signal.kind}" this page did not expect.`);
    return;
  }
  link.handle(signal);
}

/** Leaves the meeting's connections behind (the lobby stays, with our devices). */
function leaveMeeting() {
  for (const link of [...meeting.links.values()]) link.close();
  for (const id of [...meeting.people.keys()]) removePerson(id);
  stopSharing(false);
  clearTimeout(viewTimer);
  lastView = "";
  meeting.hand = null;
  meeting.hostId = null;
  meeting.firstConnectionUp = false;
  showHand();
  closePanel();
}

function leaveOnPurpose() {
  send({ type: "leave" });
  if (meeting.signaling) meeting.signaling.finish("left");
  leaveMeeting();
  showOver("You left the meeting", "", "Rejoin");
}

// ---------------------------------------------------------------------------------------
// Lobby, meeting screen, panels
// ---------------------------------------------------------------------------------------

function setPhase(phase) {
  meeting.phase = phase;
  const inMeeting = phase === "in";
  $("lobby").hidden = inMeeting;
  $("meeting").hidden = !inMeeting;
  $("join-button").disabled = phase === "joining" || phase === "waiting";
  $("cancel-button").hidden = phase !== "waiting";
  $("join-button").hidden = phase === "waiting";
  if (inMeeting) {
    levelMeter.stop();
    $("devices-home").append($("devices"));
    $("chat-log").replaceChildren();
    meeting.unread = 0;
    showUnread();
    startClock();
  } else {
    levelMeter.start();
    $("join-form").insertBefore($("devices"), $("passcode-row"));
  }
  showDeviceState();
}

function showLobbyMessage(text) {
  $("lobby-message").textContent = text;
}

/** Back in the lobby after the meeting (or a refusal), with what happened and a way back. */
function showOver(title, text, again) {
  setPhase(again ? "over" : "gone");
  $("lobby-title").textContent = title;
  showLobbyMessage(text);
  $("join-button").textContent = again || "Join";
  $("join-button").hidden = !again;
  if (again) $("join-button").focus();
}

function askForPasscode() {
  $("passcode-row").hidden = false;
  $("passcode-input").value = "";
  $("passcode-input").focus();
}

function showLobbyTitle() {
  const code = codeFromPath();
  $("code-row").hidden = Boolean(code);
  $("lobby-title").textContent = "Join the meeting";
  $("lobby-subtitle").textContent = code ? `Meeting code ${code}` : "";
}

let clockTimer = 0;

function startClock() {
  clearInterval(clockTimer);
  const since = Number.isFinite(meeting.info.started_at_ms) ? meeting.info.started_at_ms : meeting.joinedAt;
  const tick = () => {
    const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    const hours = Math.floor(seconds / 3600);
    const minutes = String(Math.floor(seconds / 60) % 60).padStart(hours ? 2 : 1, "0");
    $("meeting-clock").textContent = `${hours ? hours + ":" : ""}${minutes}:${String(seconds % 60).padStart(2, "0")}`;
    if (meeting.phase !== "in") clearInterval(clockTimer);
  };
  tick();
  clockTimer = setInterval(tick, 1000);
}

function showMeetingFacts() {
  const info = meeting.info;
  const title = info.title || "Meeting";
  $("meeting-title").textContent = title;
  document.title = `${title} – Video Meet`;
  const facts = [
    ["Title", title],
    ["Host", info.host_name || personName(meeting.hostId)],
    ["Code", info.code || codeFromPath() || "—"],
    ["Passcode", info.passcode_required ? "needed" : "none"],
    ["Media", meeting.forwarding ? "through the host's program" : "directly between participants"],
  ];
  if (info.code) facts.push(["Link for others", `${location.origin}/${info.code}`]);
  $("meeting-facts").replaceChildren(
    ...facts.flatMap(([term, value]) => [element("dt", "", term), element("dd", "", value)]),
  );
}

/** The info panel's list of media connections, each with its safety code. */
function showConnections() {
  $("connection-note").textContent = meeting.forwarding
    ? "This meeting's media goes through the host's program, which passes everyone's sound " +
      "and pictures on. The code below proves only your connection to the host's program, " +
      "which could see and hear everything; the other participants have no code with you."
    : "Each connection has its own code. Read it aloud with that person: when you both see " +
      "the same digits, nobody sits between you.";
  const items = [...meeting.links.values()].map((link) => {
    const item = element("li", "connection");
    const who = meeting.forwarding ? `The host's program (${personName(link.remoteId)})` : personName(link.remoteId);
    item.append(
      element("span", "connection-who", who),
      element("span", "connection-state", link.pc.connectionState),
      element("span", "safety-code", link.safetyCode || "…"),
    );
    item.setAttribute("aria-label", `${who}: ${link.pc.connectionState}, safety code ${link.safetyCode || "not yet known"}`);
    return item;
  });
  $("connection-list").replaceChildren(...items);
}

function showPeople() {
  const you = element("li", "person you");
  you.append(element("span", "person-name", `${yourName()} (you)`), personMarks(mediaState()));
  const others = [...meeting.people.values()].map((person) => {
    const item = element("li", "person");
    item.append(element("span", "person-name", person.label()), personMarks(person.media));
    return item;
  });
  $("people-list").replaceChildren(you, ...others);
  $("people-button").querySelector(".control-label").textContent = `People (${meeting.people.size + 1})`;
}

function personMarks(media) {
  const marks = [];
  if (Number.isInteger(media.hand)) marks.push(`✋ ${ordinal(media.hand)}`);
  if (!media.mic) marks.push("muted");
  if (!media.camera) marks.push("camera off");
  if (media.screen) marks.push("sharing");
  if (media.recording) marks.push("● recording");
  return element("span", "person-marks", marks.join(" · "));
}

function showHand() {
  const raised = meeting.hand !== null;
  const button = $("hand-button");
  button.setAttribute("aria-pressed", String(raised));
  button.setAttribute("aria-label", raised ? "Lower your hand" : "Raise your hand");
  button.classList.toggle("active", raised);
  button.querySelector(".control-label").textContent = raised ? `Lower hand (${ordinal(meeting.hand)})` : "Raise hand";
  showPeople();
}

function toggleHand() {
  // Any number raises it; the host answers with our place.
  meeting.hand = meeting.hand === null ? 1 : null;
  sendMediaState();
  showHand();
}

function showChat(message) {
  const item = element("li", "chat-message");
  if (message.from === meeting.you) item.classList.add("mine");
  const when = Number.isFinite(message.sent_at_ms)
    ? new Date(message.sent_at_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : "";
  const header = element("div", "chat-meta");
  header.append(element("span", "chat-name", message.from === meeting.you ? "You" : message.name), element("time", "", when));
  if (Number.isInteger(message.to)) {
    const to = message.to === meeting.you ? "to you" : `to ${personName(message.to)}`;
    header.append(element("span", "chat-private", `privately, ${to}`));
  }
  const text = element("p", "chat-text", message.text);
  item.append(header, text);
  report({ event: "chat", from: message.from, name: message.name, text: text.textContent, private: Number.isInteger(message.to) });
  const log = $("chat-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(item);
  if (atBottom || message.from === meeting.you) log.scrollTop = log.scrollHeight;
  if (openPanelName !== "chat" && message.from !== meeting.you) {
    meeting.unread += 1;
    showUnread();
  }
}

function showUnread() {
  const badge = $("unread");
  badge.hidden = meeting.unread === 0;
  badge.textContent = String(meeting.unread);
  $("chat-button").setAttribute("aria-label", meeting.unread ? `Chat, ${meeting.unread} unread` : "Chat");
}

function sendChat() {
  const text = $("chat-input").value.trim();
  if (!text) return;
  send({ type: "chat", text });
  $("chat-input").value = "";
}

let openPanelName = null;

const PANELS = {
  chat: { title: "Chat", body: "chat-panel", button: "chat-button" },
  people: { title: "People", body: "people-panel", button: "people-button" },
  info: { title: "Meeting info", body: "info-panel", button: "info-button" },
};

function togglePanel(name) {
  if (openPanelName === name) closePanel();
  else openPanel(name);
}

function openPanel(name) {
  openPanelName = name;
  for (const [key, panel] of Object.entries(PANELS)) {
    $(panel.body).hidden = key !== name;
    $(panel.button).setAttribute("aria-pressed", String(key === name));
  }
  $("panel").hidden = false;
  $("panel-title").textContent = PANELS[name].title;
  if (name === "chat") {
    meeting.unread = 0;
    showUnread();
    $("chat-input").focus();
  }
  if (name === "info") listDevices();
  arrangeStage();
}

function closePanel() {
  const was = openPanelName;
  openPanelName = null;
  $("panel").hidden = true;
  for (const panel of Object.values(PANELS)) $(panel.button).setAttribute("aria-pressed", "false");
  if (was) $(PANELS[was].button).focus();
  arrangeStage();
}

// ---------------------------------------------------------------------------------------
// What the page receives, measured once a second (for the tests, and the join time)
// ---------------------------------------------------------------------------------------

/** What this browser receives from and sends to one connection, as it measures it. */
async function measure(link) {
  const stats = await link.pc.getStats();
  const midOfTrack = new Map();
  const trackOfMid = new Map();
  for (const transceiver of link.pc.getTransceivers()) {
    if (transceiver.mid === null) continue;
    midOfTrack.set(transceiver.receiver.track.id, transceiver.mid);
    trackOfMid.set(transceiver.mid, transceiver.receiver.track);
  }
  const played = playedSound();
  const ownNames = new Map(Object.entries(link.own).filter(([, t]) => t && t.mid !== null).map(([name, t]) => [t.mid, name]));
  const result = { in: {}, out: {}, mic: null, transport: null };
  stats.forEach((s) => {
    if (s.type === "inbound-rtp") {
      const mid = s.mid !== undefined ? s.mid : midOfTrack.get(s.trackIdentifier);
      result.in[link.nameOfMid(mid)] = s.kind === "video"
        ? { frames_decoded: s.framesDecoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0, packets: s.packetsReceived || 0 }
        : {
            energy: s.totalAudioEnergy || 0,
            level: s.audioLevel || 0,
            seconds: s.totalSamplesDuration || 0,
            packets: s.packetsReceived || 0,
            played: played.has(trackOfMid.get(mid)),
          };
    } else if (s.type === "outbound-rtp") {
      const name = ownNames.get(s.mid) || "mid " + s.mid;
      const sending = Boolean(link.own[name] && link.own[name].sender.track);
      result.out[name] = { packets: s.packetsSent || 0, frames_encoded: s.framesEncoded, width: s.frameWidth, sending };
    } else if (s.type === "media-source" && s.kind === "audio") {
      result.mic = { energy: s.totalAudioEnergy || 0, level: s.audioLevel || 0, seconds: s.totalSamplesDuration || 0 };
    } else if (s.type === "transport") {
      result.transport = { dtls_state: s.dtlsState, dtls_cipher: s.dtlsCipher, srtp_cipher: s.srtpCipher, tls_version: s.tlsVersion };
    }
  });
  return result;
}

/** The received sound tracks an <audio> element is playing now. */
function playedSound() {
  const played = new Set();
  for (const person of meeting.people.values()) {
    const speaker = person.speaker;
    // HAVE_CURRENT_DATA: sound is coming, not merely attached.
    if (speaker && !speaker.paused && speaker.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
      played.add(speaker.srcObject.getAudioTracks()[0]);
    }
  }
  return played;
}

async function reportStats() {
  if (meeting.phase !== "in" || meeting.links.size === 0) return;
  const seen = {};
  for (const [id, link] of meeting.links) {
    try {
      seen[id] = await measure(link);
    } catch (error) {
      console.warn("getStats failed", error);
    }
  }
  report({ event: "stats", you: meeting.you, peers: seen });
  // Where frames cannot be watched as they are shown, the first decoded one counts.
  for (const [id, link] of Object.entries(seen)) {
    for (const [name, received] of Object.entries(link.in)) {
      if (received.frames_decoded > 0) noteFirstPicture(Number(id), name, "decoded");
    }
  }
  showConnections();
}

// ---------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------

function wireControls() {
  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    join();
  });
  $("cancel-button").addEventListener("click", leaveOnPurpose);
  $("preview-mic").addEventListener("click", () => setMic(!micIsOn()));
  $("preview-camera").addEventListener("click", () => setCamera(!cameraIsOn()));
  $("mic-button").addEventListener("click", () => setMic(!micIsOn()));
  $("camera-button").addEventListener("click", () => setCamera(!cameraIsOn()));
  $("camera-select").addEventListener("change", cameraChosen);
  $("mic-select").addEventListener("change", micChosen);
  $("share-button").hidden = !canShareScreen;
  $("share-button").addEventListener("click", () => (local.screen ? stopSharing(true) : startSharing()));
  $("hand-button").addEventListener("click", toggleHand);
  $("leave-button").addEventListener("click", leaveOnPurpose);
  $("sound-button").addEventListener("click", playAllSound);
  for (const name of Object.keys(PANELS)) $(PANELS[name].button).addEventListener("click", () => togglePanel(name));
  $("panel-close").addEventListener("click", closePanel);
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendChat();
  });
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendChat();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && openPanelName) closePanel();
  });
  document.addEventListener("pointerdown", () => levelMeter.wake());
  document.addEventListener("visibilitychange", scheduleView);
  if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", listDevices);
  stageObservers.size.observe($("stage"));
}

async function start() {
  wireControls();
  showLobbyTitle();
  let remembered = "";
  try {
    remembered = localStorage.getItem(NAME_KEY) || "";
  } catch {
    // No storage: nothing remembered.
  }
  $("name-input").value = testHooks.name || remembered;
  if (testHooks.passcode !== null) {
    $("passcode-row").hidden = false;
    $("passcode-input").value = testHooks.passcode;
  }
  setPhase("lobby");
  if (!speaksH264) {
    $("device-message").textContent = "This browser has no H.264 video, which Video Meet uses: you will join with sound only.";
  }
  await openDevices();
  local.starting = false;
  showDeviceState();
  setInterval(reportStats, STATS_EVERY_MS);
  if (testHooks.joinAtOnce) join();
  else $(yourName() ? "join-button" : "name-input").focus();
}

start().catch((error) => problem("The page could not start: " + describeError(error)));
