//! The printed table: each figure next to its ceiling from the same run, the ratio and the goal.

pub struct Row {
    pub figure: String,
    pub value: String,
    pub ceiling: String,
    pub ratio: String,
    pub goal: &'static str,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: impl Into<String>, goal: &'static str) -> Row {
        Row { figure: figure.into(), value: value.into(), ceiling: "—".to_owned(), ratio: "—".to_owned(), goal }
    }

    /// A rate next to the ceiling it is read against.
    pub fn against(
        figure: impl Into<String>,
        value: impl Into<String>,
        ours: f64,
        ceiling_name: &str,
        ceiling: f64,
        goal: &'static str,
    ) -> Row {
        Row {
            figure: figure.into(),
            value: value.into(),
            ceiling: format!("{ceiling_name} {}", per_sec(ceiling)),
            ratio: format!("{:.0} %", 100.0 * ours / ceiling),
            goal,
        }
    }
}

/// `12,345/s`, `78.0/s` below 100.
pub fn per_sec(rate: f64) -> String {
    if !rate.is_finite() {
        return "n/a".to_owned();
    }
    if rate < 100.0 {
        return format!("{rate:.1}/s");
    }
    let whole = rate.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}/s")
}

pub fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.0} ms")
    }
}

pub fn print(title: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    println!("| figure | Latchkey | ceiling in the same run | ratio | goal |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("| {} | {} | {} | {} | {} |", row.figure, row.value, row.ceiling, row.ratio, row.goal);
    }
}
