//! On Windows, the program carries its icon and version information (app/videomeet.rc).

fn main() {
    println!("cargo:rerun-if-changed=videomeet.rc");
    println!("cargo:rerun-if-changed=../assets/videomeet.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    // Opus, built by CMake with the compiler's stack protector, needs MinGW's libssp (the
    // MSVC build has its own); linked in whole, so no DLL has to go with the program, and
    // followed by what libssp itself calls.
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu") {
        for library in ["-l:libssp.a", "-lmsvcrt", "-ladvapi32"] {
            println!("cargo:rustc-link-arg={library}");
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let mut numbers: Vec<String> = version
        .split(['.', '-', '+'])
        .take(3)
        .map(|part| part.parse::<u16>().unwrap_or(0).to_string())
        .collect();
    numbers.resize(4, "0".to_owned());
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // Forward slashes: both resource compilers take them, and none needs escaping.
    let icon = root
        .join("../assets/videomeet.ico")
        .display()
        .to_string()
        .replace('\\', "/");
    let script = std::fs::read_to_string(root.join("videomeet.rc"))
        .expect("videomeet.rc is read")
        .replace("@ICON@", &icon)
        .replace("@NUMBERS@", &numbers.join(","))
        .replace("@VERSION@", version);
    let filled = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("videomeet.rc");
    std::fs::write(&filled, script).expect("the filled-in videomeet.rc is written");
    embed_resource::compile(&filled, embed_resource::NONE)
        .manifest_optional()
        .expect("the icon and version information are compiled");
}
