//! A plain table, printed aligned for the terminal or as Markdown.

/// Headers and rows of strings.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(
            row.len(),
            self.headers.len(),
            "invariant: one cell per column"
        );
        self.rows.push(row);
    }

    /// Columns padded to their widest cell, two spaces apart.
    pub(crate) fn to_text(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut out = line(&self.headers);
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        out.push_str(&rule.join("  "));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out.push('\n');
        out
    }

    /// A GitHub-flavoured Markdown table.
    pub(crate) fn to_markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
        let mut out = line(&self.headers);
        out.push('\n');
        out.push_str(&line(&vec!["---".to_owned(); self.headers.len()]));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn text_and_markdown() {
        let mut t = Table::new(&["a", "bb"]);
        t.push(vec!["xyz".into(), "1".into()]);
        assert_eq!(t.to_text(), "a    bb\n---  --\nxyz  1\n");
        assert_eq!(t.to_markdown(), "| a | bb |\n| --- | --- |\n| xyz | 1 |\n");
    }
}
