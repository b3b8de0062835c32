//! The README's examples are real runs: every `$ s3inv …` line in a fenced block is run
//! (from the checkout, on the bundled testdata/ deliveries) and its output compared with the
//! lines that follow it, so the README cannot drift from what the binary prints.
//!
//! Two things a reader's terminal differs in are made explicit, nothing else is relaxed:
//! - without `--format`, a terminal gets a table, so `--format table` is added;
//! - a local manifest path is absolute, so the checkout's folder is shown as `/…` in the
//!   README; a table pads its columns to the longest value, so in table lines runs of
//!   padding (spaces, and `-` in border lines) are compared as one.
//!
//! What the run writes to stderr (the delivery line, notes) comes after stdout in the
//! README block, as a terminal shows it for these commands.

use std::path::{Path, PathBuf};

use crate::harness::{run, s3inv};

/// One README example: the command line (continuations joined) and the output shown.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    output: String,
}

fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `$ s3inv` examples of the README, in order.
fn examples(readme: &str) -> Vec<Example> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut in_block = false;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.trim_start().starts_with("```") {
            in_block = !in_block;
            i += 1;
            continue;
        }
        if in_block && l.starts_with("$ s3inv ") {
            let start = i + 1;
            let mut command = l[2..].to_string();
            while command.ends_with('\\') {
                command.pop();
                i += 1;
                command.push_str(lines[i].trim_start());
            }
            i += 1;
            let mut output = String::new();
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                output.push_str(lines[i]);
                output.push('\n');
                i += 1;
            }
            out.push(Example {
                line: start,
                command,
                output,
            });
            continue;
        }
        i += 1;
    }
    out
}

/// Splits a command line as sh would for the quoting the README uses ('…', "…", \).
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The output as the README shows it: the checkout as `/…`, table padding as one.
fn normalise(text: &str, checkout: &Path) -> String {
    let root = std::fs::canonicalize(checkout).unwrap();
    let text = text.replace(&format!("{}/", root.display()), "/…/");
    text.lines()
        .map(|l| {
            if l.starts_with('|') || l.starts_with('+') {
                collapse(l)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn collapse(line: &str) -> String {
    let mut out = String::new();
    for c in line.chars() {
        if (c == ' ' || c == '-') && out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn the_parser_finds_examples_and_splits_words() {
    let text = "```sh\n$ s3inv summary a \\\n  --by 'x y' \"q\\\"z\"\nout 1\nout 2\n```\n\n```sh\ns3inv sql no-prompt\n```\n";
    let found = examples(text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].output, "out 1\nout 2\n");
    assert_eq!(
        words(&found[0].command),
        ["s3inv", "summary", "a", "--by", "x y", "q\"z"]
    );
    assert_eq!(collapse("+---+--+"), "+-+-+");
    assert_eq!(collapse("| a   | b |"), "| a | b |");
}

#[test]
fn readme_examples_are_real_runs() {
    let root = checkout();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let found = examples(&readme);
    assert!(
        found.len() >= 2,
        "the README's `$ s3inv` examples were not found: {found:?}"
    );
    for ex in found {
        let args = words(&ex.command);
        assert_eq!(args[0], "s3inv", "README line {}", ex.line);
        let mut cmd = s3inv();
        cmd.current_dir(&root).args(&args[1..]);
        if !args.iter().any(|a| a == "-f" || a.starts_with("--format")) {
            cmd.args(["--format", "table"]);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "README line {}: {}\n{err}", ex.line, ex.command);
        assert_eq!(
            normalise(&format!("{out}{err}"), &root),
            normalise(&ex.output, &root),
            "README line {} ({}) is not what the command prints; paste the run's output",
            ex.line,
            ex.command
        );
    }
}
