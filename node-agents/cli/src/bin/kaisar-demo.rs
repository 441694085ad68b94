//! `kaisar-demo`: the local devnet walkthrough (written in the next commit).
fn main() {
    eprintln!("kaisar-demo: not written yet");
    std::process::exit(2);
}
