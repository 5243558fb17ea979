//! Messages a person reads, in both languages of the UI.
//!
//! Every error a user can meet (a bad file, a bad scan line, a busy database) can say itself in
//! English and in Chinese: its `Display` is the English, [`Bilingual::message_zh`] the Chinese.
//! The command line prints both (`lotline: …` then `lotline: …` in Chinese); the UI shows the one
//! in its language.

/// An error or notice that can be shown in English and in Chinese.
pub trait Bilingual: std::fmt::Display {
    /// The English message (the same as `Display`).
    fn message_en(&self) -> String {
        self.to_string()
    }
    /// The Chinese message.
    fn message_zh(&self) -> String;
}

/// A message already rendered in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// Both messages of `b`.
    pub fn of(b: &impl Bilingual) -> Text {
        Text::new(b.message_en(), b.message_zh())
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

impl std::error::Error for Text {}

impl Bilingual for Text {
    fn message_zh(&self) -> String {
        self.zh.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_displays_english_and_keeps_chinese() {
        let t = Text::new("disk full", "磁盘已满");
        assert_eq!(t.to_string(), "disk full");
        assert_eq!(t.message_zh(), "磁盘已满");
        assert_eq!(Text::of(&t), t);
    }
}
