//! The `lotline` binary: the handheld app and its command line.

fn main() -> std::process::ExitCode {
    lotline::cli::main()
}
