#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationReason { Obscene, NoContent, Junk }
impl ModerationReason { pub fn code(self) -> &'static str { match self { Self::Obscene => "obscene", Self::NoContent => "no_content", Self::Junk => "junk" } } pub fn message_ru(self) -> &'static str { "x" } }
pub fn moderate(_text: &str) -> Result<(), ModerationReason> { Ok(()) }
