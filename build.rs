//! What the tests need to know about the machine they are built on: whether a v4l2loopback
//! virtual camera is there (`cfg(v4l2_loopback)`). The test that sends pictures into one and
//! reads them back runs where it can, and is counted as ignored, with the reason, where it
//! cannot. (Loaded after a build? `touch build.rs` makes the next build look again.)

fn main() {
    println!("cargo::rustc-check-cfg=cfg(v4l2_loopback)");
    println!("cargo::rerun-if-changed=build.rs");
    if std::path::Path::new("/sys/module/v4l2loopback").exists() {
        println!("cargo::rustc-cfg=v4l2_loopback");
    }
}
