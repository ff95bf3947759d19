//! Text from suites and from measured programs, made safe for a terminal.

/// Replaces control characters (NUL, newline, ESC, DEL, C1 controls, ...) with visible
/// escapes (`\n`, `\u{1b}`), so that a name or a step's output cannot move the cursor,
/// recolour or retitle the terminal, or forge table rows. Tabs become a space.
pub fn escape(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(escape("plain name"), "plain name");
        assert_eq!(escape("a\u{1b}]0;pwned\u{7}b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(escape("x\ny\0"), "x\\ny\\u{0}");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert!(!escape("\u{1b}[2J").contains('\u{1b}'));
    }
}
