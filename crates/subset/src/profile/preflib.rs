//! PrefLib files (the 2022 format): strict orders (SOC), strict incomplete orders (SOI), weak
//! complete orders (TOC) and weak incomplete orders (TOI).
//!
//! A file is a header of `# KEY: value` lines followed by body lines `count: a, b, {c, d}, e`
//! with 1-indexed alternatives; braces mark ties. [`PreflibFile::parse`] keeps the ballots
//! exactly as written (0-indexed), and [`PreflibFile::to_profile`] turns them into rankings
//! under one stated policy:
//!
//! - **ties** (TOC/TOI): tied items take consecutive positions in ascending item id;
//! - **incomplete ballots** (SOI/TOI): the unranked items follow the ranked ones, in ascending
//!   item id (PrefLib's own "imbued" completion puts them in one bottom tie; we break that tie
//!   as above).
//!
//! Every error is an [`Error::Parse`] with the 1-based line number and what was wrong: a
//! truncated header, an unknown item, counts that do not match the header, a repeated item, a
//! ballot that the declared data type forbids.
//!
//! ```
//! use lisse_subset::PreflibFile;
//! let text = concat!(
//!     "# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 3\n# NUMBER VOTERS: 3\n",
//!     "# NUMBER UNIQUE ORDERS: 2\n2: 1,2,3\n1: 3,1,2\n",
//! );
//! let file = PreflibFile::parse(text, "example.soc")?;
//! let profile = file.to_profile()?;
//! assert_eq!(profile.n_voters(), 3);
//! assert_eq!(profile.order(1), &[2, 0, 1]); // 0-indexed items
//! assert_eq!(PreflibFile::parse(&file.to_string(), "again")?, file);
//! # Ok::<(), lisse_core::Error>(())
//! ```

use std::fmt;
use std::path::Path;

use lisse_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::Profile;

/// The PrefLib data types for ordinal preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataType {
    /// Strict orders, complete.
    Soc,
    /// Strict orders, incomplete.
    Soi,
    /// Orders with ties, complete.
    Toc,
    /// Orders with ties, incomplete.
    Toi,
}

impl DataType {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "soc" => Some(Self::Soc),
            "soi" => Some(Self::Soi),
            "toc" => Some(Self::Toc),
            "toi" => Some(Self::Toi),
            _ => None,
        }
    }

    /// The lower-case tag used in files (`soc`, …).
    pub fn tag(self) -> &'static str {
        match self {
            Self::Soc => "soc",
            Self::Soi => "soi",
            Self::Toc => "toc",
            Self::Toi => "toi",
        }
    }

    fn allows_ties(self) -> bool {
        matches!(self, Self::Toc | Self::Toi)
    }

    fn requires_complete(self) -> bool {
        matches!(self, Self::Soc | Self::Toc)
    }
}

/// One body line: a multiplicity and the ballot as tiers (a tier of one item is a strict
/// preference; a longer tier is a tie). Items are 0-indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    /// How many voters cast this ballot.
    pub count: u64,
    /// Tiers, best first.
    pub tiers: Vec<Vec<u32>>,
}

/// A parsed PrefLib file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflibFile {
    /// The declared data type.
    pub data_type: DataType,
    /// Alternative names (index = 0-indexed item); empty names where the file gives none.
    pub names: Vec<String>,
    /// The ballots in file order.
    pub ballots: Vec<Ballot>,
    /// Other header lines (`FILE NAME`, `TITLE`, …) as (key, value), in file order.
    pub extra_headers: Vec<(String, String)>,
}

/// Largest accepted NUMBER ALTERNATIVES (a guard against allocating for a corrupt header).
const MAX_ALTERNATIVES: usize = 1 << 20;

impl PreflibFile {
    /// Parses PrefLib text; `source_name` names the input in error messages.
    ///
    /// # Errors
    /// [`Error::Parse`] with the line number for every malformed header or ballot (see the
    /// module docs).
    #[allow(clippy::too_many_lines)]
    pub fn parse(text: &str, source_name: &str) -> Result<Self> {
        let err = |line: usize, reason: String| Error::Parse {
            source_name: source_name.to_owned(),
            line,
            reason,
        };
        let mut data_type = None;
        let mut m: Option<(usize, usize)> = None; // (value, line)
        let mut voters: Option<(u64, usize)> = None;
        let mut unique: Option<(usize, usize)> = None;
        let mut names: Vec<(usize, String, usize)> = Vec::new();
        let mut extra = Vec::new();
        let mut ballots: Vec<Ballot> = Vec::new();
        let mut last_line = 0;
        let mut in_body = false;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            last_line = line_no;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(h) = line.strip_prefix('#') {
                if in_body {
                    return Err(err(
                        line_no,
                        "a header line after the first ballot; move all `#` lines to the top"
                            .into(),
                    ));
                }
                let Some((key, value)) = h.split_once(':') else {
                    return Err(err(
                        line_no,
                        format!("header line `{line}` has no `KEY: value` form"),
                    ));
                };
                let key = key.trim().to_ascii_uppercase();
                let value = value.trim();
                let num = |what: &str| -> Result<u64> {
                    value.parse::<u64>().map_err(|_| {
                        err(
                            line_no,
                            format!("{what} must be a non-negative integer, got `{value}`"),
                        )
                    })
                };
                match key.as_str() {
                    "DATA TYPE" => {
                        data_type = Some(DataType::parse(value).ok_or_else(|| {
                            err(line_no, format!("unsupported DATA TYPE `{value}`: this reader handles soc, soi, toc and toi"))
                        })?);
                    }
                    "NUMBER ALTERNATIVES" => {
                        let v = num("NUMBER ALTERNATIVES")? as usize;
                        if v == 0 || v > MAX_ALTERNATIVES {
                            return Err(err(
                                line_no,
                                format!(
                                    "NUMBER ALTERNATIVES = {v} must be between 1 and {MAX_ALTERNATIVES}"
                                ),
                            ));
                        }
                        m = Some((v, line_no));
                    }
                    "NUMBER VOTERS" => voters = Some((num("NUMBER VOTERS")?, line_no)),
                    "NUMBER UNIQUE ORDERS" => {
                        unique = Some((num("NUMBER UNIQUE ORDERS")? as usize, line_no));
                    }
                    k if k.starts_with("ALTERNATIVE NAME") => {
                        let idx = k["ALTERNATIVE NAME".len()..].trim();
                        let idx: usize = idx.parse().map_err(|_| {
                            err(
                                line_no,
                                format!("ALTERNATIVE NAME needs a number, got `{idx}`"),
                            )
                        })?;
                        names.push((idx, value.to_owned(), line_no));
                    }
                    _ => extra.push((key.trim().to_owned(), value.to_owned())),
                }
                continue;
            }
            // A body line: the header must be complete.
            if !in_body {
                in_body = true;
                for (present, what) in [
                    (data_type.is_some(), "DATA TYPE"),
                    (m.is_some(), "NUMBER ALTERNATIVES"),
                    (voters.is_some(), "NUMBER VOTERS"),
                    (unique.is_some(), "NUMBER UNIQUE ORDERS"),
                ] {
                    if !present {
                        return Err(err(
                            line_no,
                            format!(
                                "truncated header: `# {what}: …` is missing before the first ballot"
                            ),
                        ));
                    }
                }
            }
            let (Some(dt), Some((m, _))) = (data_type, m) else {
                unreachable!()
            };
            ballots.push(parse_ballot(line, dt, m).map_err(|r| err(line_no, r))?);
        }
        let Some(dt) = data_type else {
            return Err(err(
                last_line + 1,
                "truncated header: `# DATA TYPE: …` is missing".into(),
            ));
        };
        let Some((m, m_line)) = m else {
            return Err(err(
                last_line + 1,
                "truncated header: `# NUMBER ALTERNATIVES: …` is missing".into(),
            ));
        };
        let Some((voters, v_line)) = voters else {
            return Err(err(
                last_line + 1,
                "truncated header: `# NUMBER VOTERS: …` is missing".into(),
            ));
        };
        let Some((unique, u_line)) = unique else {
            return Err(err(
                last_line + 1,
                "truncated header: `# NUMBER UNIQUE ORDERS: …` is missing".into(),
            ));
        };
        let mut name_list = vec![String::new(); m];
        for (idx, name, line) in names {
            if idx == 0 || idx > m {
                return Err(err(
                    line,
                    format!("ALTERNATIVE NAME {idx} is not an alternative 1..={m}"),
                ));
            }
            name_list[idx - 1] = name;
        }
        if ballots.len() != unique {
            return Err(err(
                u_line,
                format!(
                    "NUMBER UNIQUE ORDERS says {unique} but the file has {} ballot lines",
                    ballots.len()
                ),
            ));
        }
        let total = ballots.iter().try_fold(0u64, |a, b| a.checked_add(b.count));
        if total != Some(voters) {
            return Err(err(
                v_line,
                format!(
                    "NUMBER VOTERS says {voters} but the ballot counts add up to {}",
                    total.map_or_else(|| "more than 2^64".to_owned(), |t| t.to_string())
                ),
            ));
        }
        let _ = m_line;
        Ok(Self {
            data_type: dt,
            names: name_list,
            ballots,
            extra_headers: extra,
        })
    }

    /// Reads and parses a file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Parse`] as in [`Self::parse`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Writes the file (PrefLib text, as [`fmt::Display`] renders it).
    ///
    /// # Errors
    /// [`Error::Io`] on failure.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_string()).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Number of alternatives m.
    pub fn m(&self) -> usize {
        self.names.len()
    }

    /// The rankings under the module's tie and completion policy (ties in ascending item id;
    /// unranked items after the ranked ones, ascending), one ranking per ballot line with its
    /// count as weight.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the file has no ballots.
    pub fn to_profile(&self) -> Result<Profile> {
        let m = self.m();
        if self.ballots.is_empty() {
            return Err(Error::invalid("ballots", 0, "at least one ballot"));
        }
        super::check_size(m, self.ballots.len())?;
        let mut orders = Vec::with_capacity(self.ballots.len() * m);
        let mut seen = vec![false; m];
        for b in &self.ballots {
            seen.fill(false);
            for tier in &b.tiers {
                let mut t = tier.clone();
                t.sort_unstable();
                for c in t {
                    seen[c as usize] = true;
                    orders.push(c);
                }
            }
            orders.extend((0..m as u32).filter(|&c| !seen[c as usize]));
        }
        let weights = self.ballots.iter().map(|b| b.count).collect();
        Profile::from_flat(m, orders, weights)
    }

    /// A SOC file of `profile` with identical rankings merged; `names` may be empty (no
    /// ALTERNATIVE NAME lines are written then).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `names` is neither empty nor of length m.
    pub fn from_profile(profile: &Profile, names: Vec<String>) -> Result<Self> {
        let names = if names.is_empty() {
            vec![String::new(); profile.m()]
        } else {
            lisse_core::check_dim("alternative names", profile.m(), names.len())?;
            names
        };
        let merged = profile.merge_identical();
        let ballots = merged
            .orders()
            .zip(merged.weights())
            .map(|(o, &count)| Ballot {
                count,
                tiers: o.iter().map(|&c| vec![c]).collect(),
            })
            .collect();
        Ok(Self {
            data_type: DataType::Soc,
            names,
            ballots,
            extra_headers: Vec::new(),
        })
    }
}

/// Parses `count: a, b, {c, d}` (1-indexed items) into a 0-indexed [`Ballot`].
fn parse_ballot(line: &str, dt: DataType, m: usize) -> std::result::Result<Ballot, String> {
    let (count, rest) = line
        .split_once(':')
        .ok_or_else(|| format!("ballot line `{line}` lacks the `count:` prefix"))?;
    let count: u64 = count
        .trim()
        .parse()
        .map_err(|_| format!("ballot count `{}` is not a positive integer", count.trim()))?;
    if count == 0 {
        return Err("ballot count 0: drop the line instead".into());
    }
    let mut tiers: Vec<Vec<u32>> = Vec::new();
    let mut seen = vec![false; m];
    let mut open: Option<Vec<u32>> = None;
    let mut n_ranked = 0usize;
    for tok in rest.split(',') {
        let mut tok = tok.trim();
        let starts = tok.starts_with('{');
        if starts {
            if open.is_some() {
                return Err("nested `{` in a ballot".into());
            }
            tok = tok[1..].trim();
            open = Some(Vec::new());
        }
        let ends = tok.ends_with('}');
        if ends {
            tok = tok[..tok.len() - 1].trim();
        }
        if tok.is_empty() {
            if rest.trim().is_empty() && !starts && !ends {
                break; // an empty ballot (allowed in soi/toi)
            }
            return Err("an empty entry between commas".into());
        }
        let item: usize = tok
            .parse()
            .map_err(|_| format!("`{tok}` is not an alternative number"))?;
        if item == 0 || item > m {
            return Err(format!(
                "unknown alternative {item}: alternatives are numbered 1..={m}"
            ));
        }
        let c = item - 1;
        if seen[c] {
            return Err(format!("alternative {item} appears twice in one ballot"));
        }
        seen[c] = true;
        n_ranked += 1;
        if let Some(t) = open.as_mut() {
            t.push(c as u32);
        } else {
            if ends {
                return Err("`}` without a matching `{`".into());
            }
            tiers.push(vec![c as u32]);
        }
        if ends {
            let t = open.take().ok_or("`}` without a matching `{`")?;
            if !dt.allows_ties() {
                return Err(format!(
                    "a tie `{{…}}` in a {} file; declare toc or toi",
                    dt.tag()
                ));
            }
            tiers.push(t);
        }
    }
    if open.is_some() {
        return Err("a `{` that is never closed".into());
    }
    if dt.requires_complete() && n_ranked != m {
        return Err(format!(
            "ballot ranks {n_ranked} of {m} alternatives but the data type {} requires all; declare soi or toi for incomplete ballots",
            dt.tag()
        ));
    }
    Ok(Ballot { count, tiers })
}

impl fmt::Display for PreflibFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.extra_headers {
            writeln!(f, "# {k}: {v}")?;
        }
        writeln!(f, "# DATA TYPE: {}", self.data_type.tag())?;
        writeln!(f, "# NUMBER ALTERNATIVES: {}", self.m())?;
        let voters: u64 = self.ballots.iter().map(|b| b.count).sum();
        writeln!(f, "# NUMBER VOTERS: {voters}")?;
        writeln!(f, "# NUMBER UNIQUE ORDERS: {}", self.ballots.len())?;
        for (i, name) in self.names.iter().enumerate() {
            if !name.is_empty() {
                writeln!(f, "# ALTERNATIVE NAME {}: {name}", i + 1)?;
            }
        }
        for b in &self.ballots {
            write!(f, "{}: ", b.count)?;
            for (i, t) in b.tiers.iter().enumerate() {
                if i > 0 {
                    write!(f, ",")?;
                }
                if t.len() == 1 {
                    write!(f, "{}", t[0] + 1)?;
                } else {
                    let inner: Vec<String> = t.iter().map(|c| (c + 1).to_string()).collect();
                    write!(f, "{{{}}}", inner.join(","))?;
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
