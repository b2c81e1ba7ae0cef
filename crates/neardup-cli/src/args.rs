//! The command line, declared with clap; doc comments become `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find and remove repeated text: exact and near duplicates, passages a
/// record says twice, substrings repeated across a corpus, repetitive records. Matching happens on a canonical form that
/// folds Unicode and typographic variants; what comes out is your own text.
#[derive(Debug, Parser)]
#[command(name = "neardup", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Remove duplicates and repeats; write kept records in the input's format.
    Dedup(Box<DedupArgs>),
    /// Cut every substring of at least `--min-len` canonical bytes that occurs
    /// elsewhere in the corpus (suffix arrays; Lee et al. 2022), keeping the
    /// first occurrence; records left empty are removed.
    Substrings(Box<SubstringsArgs>),
    /// Print which kept record each record belongs to (JSONL), or, with
    /// `--pairs`, every pair of records within the threshold.
    Clusters(Box<ClustersArgs>),
    /// Show why two texts are, or are not, near duplicates: canonical forms,
    /// Jaccard, MinHash estimate, LSH bands, shared shingles, a diff.
    Explain(Box<ExplainArgs>),
    /// Print the canonical form of a file (what matching sees).
    Normalize(NormalizeArgs),
    /// Write the HTML report of a run from its ledger and inputs: summary,
    /// charts, clusters side by side, cuts in place, rejected records.
    Report(Box<ReportArgs>),
    /// Serve an index over HTTP: `POST /v1/check` and `POST /v1/add` decide
    /// records against it (and add the new ones), `GET /v1/stats`,
    /// `GET /metrics`, `GET /healthz`. Stops on SIGTERM or SIGINT after the
    /// requests in flight.
    Serve(Box<ServeArgs>),
    /// Keep an index of everything kept so far, to deduplicate batch after
    /// batch against all history (`dedup --index DIR`).
    #[command(subcommand)]
    Index(IndexCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// Create an index in DIR (new or empty) with these matching settings;
    /// `dedup --index DIR` takes them from there.
    Create(Box<IndexCreateArgs>),
    /// Print records, batches, size on disk and settings.
    Stats(IndexStatsArgs),
    /// Check every checksum and invariant: exit 0 when sound, 2 with what
    /// is wrong.
    Verify(IndexDirArgs),
    /// Print every record as a JSON line: seq, id, hash, len, signature and
    /// band keys (or, for a near duplicate kept for its exact copies, the
    /// record it duplicates).
    Export(IndexExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct IndexDirArgs {
    /// The index's directory.
    pub(crate) dir: PathBuf,

    /// Memory budget of the index's storage engine (cache and write
    /// buffers; e.g. `256M`).
    #[arg(long, default_value = "256M", value_parser = parse_size)]
    pub(crate) memory: u64,
}

#[derive(Debug, Args)]
pub(crate) struct IndexStatsArgs {
    #[command(flatten)]
    pub(crate) index: IndexDirArgs,

    /// Print the statistics as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IndexExportArgs {
    #[command(flatten)]
    pub(crate) index: IndexDirArgs,

    /// Where the lines go: `-` for standard output, or a file (compressed
    /// if named `.gz` or `.zst`).
    #[arg(short, long, default_value = "-")]
    pub(crate) output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct IndexCreateArgs {
    /// The index's directory (created if missing; must be empty).
    pub(crate) dir: PathBuf,

    /// Memory budget of the index's storage engine.
    #[arg(long, default_value = "256M", value_parser = parse_size)]
    pub(crate) memory: u64,

    #[command(flatten)]
    pub(crate) matching: MatchingArgs,

    #[command(flatten)]
    pub(crate) normalize: NormalizeOptions,
}

/// The matching flags of `dedup` (which copy stays, exact, near, in-record
/// repeats, repetition filters), shared with `index create`.
#[derive(Debug, Args)]
pub(crate) struct MatchingArgs {
    /// Which record of a group of duplicates stays (an index keeps the
    /// first: other policies are refused with `--index`).
    #[arg(long, value_enum, default_value_t = KeepArg::First)]
    pub(crate) keep: KeepArg,

    /// Do not remove exact duplicates.
    #[arg(long)]
    pub(crate) no_exact: bool,

    #[command(flatten)]
    pub(crate) near: NearArgs,

    /// Do not cut passages repeated inside a record.
    #[arg(long)]
    pub(crate) no_repeats: bool,

    /// Cut a passage repeated inside a record when it is at least this many
    /// canonical characters long (about 50 tokens; a signature or a refrain
    /// is shorter).
    #[arg(long, value_name = "CHARS", default_value_t = neardup_core::DEFAULT_MIN_REPEAT)]
    pub(crate) min_repeat: usize,

    /// Remove records whose repetition statistics exceed Gopher's thresholds
    /// (Rae et al. 2021): duplicate lines 0.30, paragraphs 0.30, …
    #[arg(long)]
    pub(crate) drop_repetitive: bool,

    /// Set one repetition threshold, e.g. `dup_line_frac=0.5`; implies
    /// removing records above it. Repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub(crate) repetition_threshold: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The index directory (`neardup index create`).
    #[arg(long, value_name = "DIR")]
    pub(crate) index: PathBuf,

    /// Address to listen on, `host:port`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,

    /// File holding the bearer token requests must send
    /// (`Authorization: Bearer <token>`): its first line, at least 16
    /// printable ASCII characters.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "insecure_no_auth",
        conflicts_with = "insecure_no_auth"
    )]
    pub(crate) token_file: Option<PathBuf>,

    /// Serve without a token; refused unless `--listen` is a loopback
    /// address.
    #[arg(long)]
    pub(crate) insecure_no_auth: bool,

    /// Largest request body (e.g. `16M`); larger ones are answered 413.
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = parse_size)]
    pub(crate) max_body: u64,

    /// Most records in one request; more are answered 413.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub(crate) max_records: usize,

    /// Request bodies held at once, all requests together (e.g. `128M`,
    /// at least `--max-body`): past it, requests wait their turn, so many
    /// clients at once cannot exhaust memory.
    #[arg(long, value_name = "SIZE", default_value = "128M", value_parser = parse_size)]
    pub(crate) max_in_flight: u64,

    /// Seconds a stop (SIGTERM, SIGINT) waits for requests in flight
    /// before closing their connections; adds already taken still land.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) shutdown_grace: u64,

    /// Memory budget of the index's storage engine: caches and write
    /// buffers (e.g. `256M`), whatever the index's size.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub(crate) memory: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The run's inputs, as given to it: files, directories (read
    /// recursively, in sorted order), or `-` for standard input.
    #[arg(required = true)]
    pub(crate) inputs: Vec<PathBuf>,

    /// The run's ledger (`--ledger` of `dedup` or `substrings`; plain, gzip
    /// or zstd).
    #[arg(long, value_name = "FILE")]
    pub(crate) ledger: PathBuf,

    /// Where the report goes: one self-contained HTML file (`-` for standard
    /// output).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,

    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Directory for temporary files (the stdin spool).
    #[arg(long, value_name = "DIR")]
    pub(crate) tmp_dir: Option<PathBuf>,

    /// No progress bar and no closing line.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The first text: a file, or with `--in` a record id.
    pub(crate) a: String,
    /// The second text: a file, or with `--in` a record id.
    pub(crate) b: String,

    /// Look `A` and `B` up as record ids in these inputs.
    #[arg(long = "in", value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,

    /// Shingles to list per group (shared, only in A, only in B).
    #[arg(long, default_value_t = 10)]
    pub(crate) limit: usize,

    /// Print the explanation as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,

    /// As `dedup --no-exact`.
    #[arg(long)]
    pub(crate) no_exact: bool,

    /// As `dedup --no-repeats`.
    #[arg(long)]
    pub(crate) no_repeats: bool,

    /// As `dedup --min-repeat`.
    #[arg(long, value_name = "CHARS", default_value_t = neardup_core::DEFAULT_MIN_REPEAT,
          value_parser = neardup_core::settings::parse::positive)]
    pub(crate) min_repeat: usize,

    #[command(flatten)]
    pub(crate) input: InputArgs,

    #[command(flatten)]
    pub(crate) near: NearArgs,

    #[command(flatten)]
    pub(crate) normalize: NormalizeOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ClustersArgs {
    #[command(flatten)]
    pub(crate) dedup: DedupArgs,

    /// Print every pair of records whose verified similarity reaches the
    /// threshold (`{"a","b","similarity"}`) instead of one line per record.
    #[arg(long)]
    pub(crate) pairs: bool,
}

/// Inputs, outputs and how to run: what every corpus command shares.
#[derive(Debug, Args)]
pub(crate) struct IoArgs {
    /// Inputs: files, directories (read recursively, in sorted order), or `-`
    /// for standard input. Plain text or JSONL, optionally gzip or zstd; or
    /// Parquet (not mixed with the others in one run).
    #[arg(default_value = "-")]
    pub(crate) inputs: Vec<PathBuf>,

    /// Where kept records go: `-` for standard output, a file, or a directory
    /// that mirrors the inputs.
    #[arg(short, long, default_value = "-")]
    pub(crate) output: PathBuf,

    /// Write one JSON line per input record saying what became of it (a
    /// Parquet table if FILE ends in `.parquet`).
    #[arg(long, value_name = "FILE")]
    pub(crate) ledger: Option<PathBuf>,

    /// Write an HTML report of the run: summary, charts, each removed
    /// record beside the record kept for it, cuts in place (one
    /// self-contained file).
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// What to do with a bad record: stop (exit 2, no output) or reject it in
    /// the ledger and go on.
    #[arg(long, value_enum, default_value_t = OnErrorArg::Fail)]
    pub(crate) on_error: OnErrorArg,

    #[command(flatten)]
    pub(crate) normalize: NormalizeOptions,

    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DedupArgs {
    #[command(flatten)]
    pub(crate) io: IoArgs,

    #[command(flatten)]
    pub(crate) matching: MatchingArgs,

    /// After exact and near dedup, also cut substrings repeated across the
    /// corpus (as `neardup substrings`; `--min-len` and the options below).
    #[arg(long)]
    pub(crate) substrings: bool,

    #[command(flatten)]
    pub(crate) substring: SubstringArgs,

    /// Deduplicate against the index in DIR (`neardup index create`) as
    /// well as within the inputs, then add what was kept: batches run one
    /// after another decide as one run over all of them. Matching settings
    /// come from the index; a flag that differs is an error naming both
    /// values. A quarter of `--memory` goes to the index's cache.
    #[arg(long, value_name = "DIR")]
    pub(crate) index: Option<PathBuf>,

    /// The setting flags given on the command line (name, values), filled
    /// in after parsing: with `--index`, these are checked against the
    /// index's settings, the rest come from it.
    #[arg(skip)]
    pub(crate) given: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Args)]
pub(crate) struct SubstringsArgs {
    #[command(flatten)]
    pub(crate) io: IoArgs,

    #[command(flatten)]
    pub(crate) substring: SubstringArgs,
}

/// Repeated substrings across the corpus.
#[derive(Debug, Args)]
pub(crate) struct SubstringArgs {
    /// Shortest repeated substring cut, in bytes of canonical text (Lee et
    /// al. cut 50 tokens, about 100 bytes).
    #[arg(long, value_name = "BYTES", default_value_t = neardup_core::DEFAULT_MIN_LEN,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) min_len: usize,

    /// Cut a repeated substring only if it holds at least this many words.
    #[arg(long, value_name = "WORDS", default_value_t = 0)]
    pub(crate) min_tokens: usize,

    /// Which occurrences go: all but the first, or every one (as Lee et
    /// al.'s tool does).
    #[arg(long, value_enum, default_value_t = RemoveArg::Later)]
    pub(crate) remove: RemoveArg,

    /// Remove a record left with fewer bytes of text than this once repeats
    /// are cut (white space aside); one left empty is always removed.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub(crate) min_keep: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum RemoveArg {
    Later,
    All,
}

/// Near duplicates: MinHash LSH, verified.
#[derive(Debug, Args)]
pub(crate) struct NearArgs {
    /// Do not remove near duplicates.
    #[arg(long)]
    pub(crate) no_near: bool,

    /// Similarity at or above which two records are near duplicates.
    #[arg(long, default_value_t = 0.8, value_parser = neardup_core::settings::parse::unit_interval)]
    pub(crate) threshold: f64,

    /// Which similarity: Jaccard, or containment (the share of the shorter
    /// record found in the longer; the shorter is removed).
    #[arg(long, value_enum, default_value_t = SimilarityArg::Jaccard)]
    pub(crate) similarity: SimilarityArg,

    /// Shingles: `word:N` (word n-grams) or `char:N` (character n-grams).
    #[arg(long, default_value = "word:5", value_parser = neardup_core::settings::parse::shingle)]
    pub(crate) shingle: neardup_sketch::Shingling,

    /// Sketch: classic MinHash, or one-permutation hashing (faster).
    #[arg(long, value_enum, default_value_t = SketchArg::Minhash)]
    pub(crate) sketch: SketchArg,

    /// Signature length (permutations).
    #[arg(long, default_value_t = neardup_sketch::DEFAULT_NUM_PERM,
          value_parser = neardup_core::settings::parse::positive)]
    pub(crate) num_perm: usize,

    /// Seed of shingle hashes and sketches (signatures compare across runs
    /// only with the same seed).
    #[arg(long, default_value_t = neardup_sketch::DEFAULT_SEED)]
    pub(crate) seed: u64,

    /// LSH bands (default: the optimum for `--threshold`).
    #[arg(long, value_parser = neardup_core::settings::parse::positive)]
    pub(crate) bands: Option<usize>,

    /// LSH rows per band (default: the optimum for `--threshold`).
    #[arg(long, value_parser = neardup_core::settings::parse::positive)]
    pub(crate) rows: Option<usize>,

    /// How candidate pairs are checked before they merge.
    #[arg(long, value_enum, default_value_t = VerifyArg::Jaccard)]
    pub(crate) verify: VerifyArg,

    /// For `--similarity containment`: the largest length ratio (longer /
    /// shorter) candidate generation is tuned for.
    #[arg(long, default_value_t = 4.0, value_parser = neardup_core::settings::parse::ratio)]
    pub(crate) max_size_ratio: f64,
}

#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// What a record is in a plain-text input.
    #[arg(long, value_enum, default_value_t = RecordsArg::File)]
    pub(crate) records: RecordsArg,

    /// Input format; by default `.jsonl`, `.ndjson` and `.json` are JSONL,
    /// `.parquet` is Parquet, and anything else is text (stdin: JSONL if it
    /// starts with `{`).
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub(crate) format: FormatArg,

    /// JSON field (Parquet column) holding the text.
    #[arg(long, default_value = "text")]
    pub(crate) text_field: String,

    /// JSON field (Parquet column) holding the record's id; records without
    /// one are named `source:line` (Parquet: `source#row`, from 0), whole
    /// files by their path.
    #[arg(long, default_value = "id")]
    pub(crate) id_field: String,

    /// Reject records larger than this (bytes, or `64M`, `2G`).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub(crate) max_record_bytes: u64,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub(crate) threads: Option<usize>,

    /// Print the summary as JSON on standard output.
    #[arg(long)]
    pub(crate) json: bool,

    /// No progress bar and no human summary.
    #[arg(long, short)]
    pub(crate) quiet: bool,

    /// Directory for temporary files (the stdin spool, shingle sets,
    /// spilled LSH buckets, suffix-array buckets).
    #[arg(long, value_name = "DIR")]
    pub(crate) tmp_dir: Option<PathBuf>,

    /// Memory budget of the stages that spill to disk beyond it: LSH buckets,
    /// suffix arrays (e.g. `512M`, `8G`).
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    pub(crate) memory: u64,

    /// Records per batch handed to the workers (results never depend on it).
    #[arg(long, default_value_t = 1024, hide = true)]
    pub(crate) batch_records: usize,

    /// Bytes per batch handed to the workers (results never depend on it).
    #[arg(long, default_value_t = 1 << 20, hide = true)]
    pub(crate) batch_bytes: usize,
}

/// Canonical-form options; the defaults are what neardup matches on.
#[derive(Debug, Args)]
pub(crate) struct NormalizeOptions {
    /// No canonical form: match the text's own bytes (as byte-level tools
    /// do); the options below are then ignored.
    #[arg(long)]
    pub(crate) raw: bool,
    /// Skip Unicode NFKC.
    #[arg(long)]
    pub(crate) no_nfkc: bool,
    /// Keep quotes, dashes and ellipses as they are.
    #[arg(long)]
    pub(crate) no_typography: bool,
    /// Keep zero-width and other invisible characters.
    #[arg(long)]
    pub(crate) no_invisible: bool,
    /// Keep case.
    #[arg(long)]
    pub(crate) no_case_fold: bool,
    /// White space: collapse keeping lines and paragraphs, collapse all, or keep.
    #[arg(long, value_enum, default_value_t = WhitespaceArg::Lines)]
    pub(crate) whitespace: WhitespaceArg,
    /// Transliterate to ASCII.
    #[arg(long)]
    pub(crate) ascii: bool,
    /// Drop punctuation and symbols.
    #[arg(long)]
    pub(crate) strip_punctuation: bool,
    /// Drop digits.
    #[arg(long)]
    pub(crate) strip_digits: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NormalizeArgs {
    /// The file to normalize (`-` for standard input).
    #[arg(default_value = "-")]
    pub(crate) input: PathBuf,

    /// Also print, for each canonical line, the original byte range it maps to.
    #[arg(long)]
    pub(crate) offsets: bool,

    #[command(flatten)]
    pub(crate) normalize: NormalizeOptions,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SimilarityArg {
    Jaccard,
    Containment,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SketchArg {
    Minhash,
    Oph,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum VerifyArg {
    Jaccard,
    Signature,
    None,
}

/// `123`, `64K`, `512M`, `8G` (powers of 1024).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    neardup_core::settings::parse::size(s)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum KeepArg {
    First,
    Last,
    Longest,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum OnErrorArg {
    Fail,
    Skip,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum RecordsArg {
    File,
    Lines,
    Paragraphs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FormatArg {
    Auto,
    Jsonl,
    Text,
    Parquet,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum WhitespaceArg {
    Lines,
    All,
    Keep,
}

impl NormalizeOptions {
    pub(crate) fn to_options(&self) -> neardup_text::Options {
        neardup_text::Options {
            raw: self.raw,
            nfkc: !self.no_nfkc,
            typography: !self.no_typography,
            invisible: !self.no_invisible,
            case_fold: !self.no_case_fold,
            whitespace: match self.whitespace {
                WhitespaceArg::Lines => neardup_text::Whitespace::Lines,
                WhitespaceArg::All => neardup_text::Whitespace::All,
                WhitespaceArg::Keep => neardup_text::Whitespace::Keep,
            },
            ascii: self.ascii,
            strip_punctuation: self.strip_punctuation,
            strip_digits: self.strip_digits,
        }
    }
}

impl NearArgs {
    pub(crate) fn to_settings(&self) -> Option<neardup_core::NearSettings> {
        use neardup_core::{NearSettings, Similarity, Verify};
        if self.no_near {
            return None;
        }
        Some(NearSettings {
            threshold: self.threshold,
            similarity: match self.similarity {
                SimilarityArg::Jaccard => Similarity::Jaccard,
                SimilarityArg::Containment => Similarity::Containment,
            },
            shingling: self.shingle,
            sketch: match self.sketch {
                SketchArg::Minhash => neardup_sketch::SketchKind::MinHash,
                SketchArg::Oph => neardup_sketch::SketchKind::Oph,
            },
            num_perm: self.num_perm,
            seed: self.seed,
            bands: self.bands,
            rows: self.rows,
            verify: match self.verify {
                VerifyArg::Jaccard => Verify::Jaccard,
                VerifyArg::Signature => Verify::Signature,
                VerifyArg::None => Verify::None,
            },
            max_size_ratio: self.max_size_ratio,
        })
    }
}

impl SubstringArgs {
    /// Whether any option differs from its default.
    pub(crate) fn is_set(&self) -> bool {
        self.min_len != neardup_core::DEFAULT_MIN_LEN
            || self.min_tokens != 0
            || !matches!(self.remove, RemoveArg::Later)
            || self.min_keep != 0
    }

    pub(crate) fn to_settings(&self) -> neardup_core::SubstringSettings {
        use neardup_core::{Remove, SubstringSettings};
        SubstringSettings {
            min_len: self.min_len,
            min_tokens: self.min_tokens,
            remove: match self.remove {
                RemoveArg::Later => Remove::Later,
                RemoveArg::All => Remove::All,
            },
            min_keep: self.min_keep,
        }
    }
}
