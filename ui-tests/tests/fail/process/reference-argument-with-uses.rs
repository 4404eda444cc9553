use mproc::process;

#[process]
fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let _ = count_words("a b");
    let _ = count_words::spawn("a b");
}
