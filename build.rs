//! Compiles the Slint UI (`ui/main.slint`) with the zh_CN gettext catalogue bundled in,
//! so the language can be switched at runtime without gettext on the device.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_style("fluent".into())
        .with_bundled_translations("lang")
        // Catalogue entries carry no msgctxt (extract with `slint-tr-extractor --no-default-translation-context`).
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        // Element names and types for the testing backend's `find_by_element_id` and friends.
        // Costs a few strings in the binary; keeps test and release builds the same code.
        .with_debug_info(true);
    slint_build::compile_with_config("ui/main.slint", config).expect("Slint UI failed to compile");
    println!("cargo:rerun-if-changed=lang");
}
