//! Headless rendering for `lotline screenshot`: a minimal Slint platform with the software
//! renderer and no display, and PNG output of a window snapshot.

use std::path::Path;

use crate::domain::text::Text;
use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, PlatformError};

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
}

/// Installs the headless platform for this process with a window of `width`×`height` pixels.
/// Must run before any window is created, and only once per process.
pub fn install(width: u32, height: u32) -> Result<Rc<MinimalSoftwareWindow>, PlatformError> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    window.set_size(PhysicalSize::new(width, height));
    slint::platform::set_platform(Box::new(HeadlessPlatform { window: window.clone() }))
        .map_err(|e| PlatformError::Other(format!("cannot set up headless rendering: {e}")))?;
    Ok(window)
}

/// Renders `component`'s window and writes it to `out` as an RGBA PNG.
pub fn write_png(component: &impl ComponentHandle, out: &Path) -> Result<(), Text> {
    let fail = |e: &dyn std::fmt::Display| {
        Text::new(
            format!("cannot write the picture {}: {e}", out.display()),
            format!("无法写入图片 {}:{e}", out.display()),
        )
    };
    component.show().map_err(|e| fail(&e))?;
    slint::platform::update_timers_and_animations();
    let snap = component.window().take_snapshot().map_err(|e| fail(&e))?;
    let (w, h) = (snap.width(), snap.height());
    let file = std::fs::File::create(out).map_err(|e| fail(&e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(snap.as_bytes()).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))?;
    Ok(())
}
