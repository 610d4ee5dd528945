//! Virtual cameras: the v4l2 devices a live output can write to (`--output v4l2:/dev/videoN`),
//! as the kernel describes them, and whether the v4l2loopback module that makes them is
//! loaded. Linux only; elsewhere there are none, and OBS reading a UDP stream stands in.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One `/dev/videoN` as its driver describes it.
#[derive(Debug, Clone, Serialize)]
pub struct VideoDevice {
    pub path: PathBuf,
    /// The card's name (`card_label` for a v4l2loopback device).
    pub name: String,
    pub driver: String,
    /// It takes frames (a virtual camera or other output device).
    pub output: bool,
    /// It is made by v4l2loopback: what it is given, other programs see as a camera.
    pub loopback: bool,
}

/// What loads the virtual camera module, for messages.
pub const LOAD_LOOPBACK: &str = "sudo modprobe v4l2loopback exclusive_caps=1 card_label=mimic";

/// Whether the v4l2loopback kernel module is loaded.
pub fn loopback_loaded() -> bool {
    Path::new("/sys/module/v4l2loopback").exists()
}

/// Every `/dev/videoN` that answers, in number order.
pub fn video_devices() -> Vec<VideoDevice> {
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut numbered: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let number = name.to_str()?.strip_prefix("video")?.parse().ok()?;
            Some((number, entry.path()))
        })
        .collect();
    numbered.sort();
    numbered
        .into_iter()
        .filter_map(|(_, path)| describe(&path))
        .collect()
}

/// The device's capabilities, or `None` when it cannot be opened or asked.
#[cfg(target_os = "linux")]
fn describe(path: &Path) -> Option<VideoDevice> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;

    /// `struct v4l2_capability` (linux/videodev2.h).
    #[repr(C)]
    struct Capability {
        driver: [u8; 16],
        card: [u8; 32],
        bus_info: [u8; 32],
        version: u32,
        capabilities: u32,
        device_caps: u32,
        reserved: [u32; 3],
    }
    /// `VIDIOC_QUERYCAP`: `_IOR('V', 0, struct v4l2_capability)`.
    const QUERYCAP: libc::c_ulong = (2 << 30) | (104 << 16) | ((b'V' as libc::c_ulong) << 8);
    const VIDEO_OUTPUT: u32 = 0x0000_0002;
    const VIDEO_OUTPUT_MPLANE: u32 = 0x0000_2000;
    const DEVICE_CAPS: u32 = 0x8000_0000;

    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let mut cap = Capability {
        driver: [0; 16],
        card: [0; 32],
        bus_info: [0; 32],
        version: 0,
        capabilities: 0,
        device_caps: 0,
        reserved: [0; 3],
    };
    // SAFETY: the descriptor is open for as long as `file` lives; VIDIOC_QUERYCAP fills a
    // `struct v4l2_capability`, whose layout `Capability` repeats (104 bytes).
    let asked = unsafe { libc::ioctl(file.as_raw_fd(), QUERYCAP, &mut cap as *mut Capability) };
    if asked != 0 {
        return None;
    }
    let text = |bytes: &[u8]| {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    let caps = match cap.capabilities & DEVICE_CAPS {
        0 => cap.capabilities,
        _ => cap.device_caps,
    };
    let driver = text(&cap.driver);
    Some(VideoDevice {
        path: path.to_path_buf(),
        name: text(&cap.card),
        loopback: driver.contains("loopback"),
        driver,
        output: caps & (VIDEO_OUTPUT | VIDEO_OUTPUT_MPLANE) != 0,
    })
}

#[cfg(not(target_os = "linux"))]
fn describe(_path: &Path) -> Option<VideoDevice> {
    None
}
