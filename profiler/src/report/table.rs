//! Plain tables for terminal and markdown output of `compare` and `reproduce`.

/// Text, aligned: columns padded to their widest cell (counted in chars), two spaces apart.
/// Control characters in cells are made visible (`crate::terminal::escape`).
pub fn text(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| crate::terminal::escape(h)).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| crate::terminal::escape(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                s.extend(std::iter::repeat_n(
                    ' ',
                    widths[i].saturating_sub(c.chars().count()),
                ));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.clone());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// GitHub markdown; every cell escaped (see `markdown::escape`).
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    use super::markdown::escape;
    let mut out = format!(
        "| {} |\n",
        header
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for r in rows {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| escape(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_aligns_columns() {
        let t = super::text(&["a", "bb"], &[vec!["ccc".into(), "d".into()]]);
        assert_eq!(t, "a    bb\n---  --\nccc  d\n");
    }
}
