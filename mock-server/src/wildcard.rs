//! AWS wildcards, as IAM policies and EC2 filters use them: `*` matches any run of
//! characters, `?` exactly one character. IAM action names compare case-insensitively
//! (`EC2:describeregions` is `ec2:DescribeRegions`); resource ARNs and filter values
//! case-sensitively. Patterns are compiled once and match in linear time.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    kind: Kind,
    case_insensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `*`
    Any,
    /// No wildcard.
    Exact(String),
    /// `prefix*` with no other wildcard (the common `s3:Get*` shape).
    Prefix(String),
    /// Anything else.
    Glob(Vec<u8>),
}

impl Pattern {
    /// Compiles a pattern that ignores ASCII case (IAM action names).
    pub fn ignoring_case(raw: &str) -> Self {
        Self::compile(&raw.to_ascii_lowercase(), true)
    }

    /// Compiles a case-sensitive pattern (ARNs, EC2 filter values).
    pub fn exact_case(raw: &str) -> Self {
        Self::compile(raw, false)
    }

    fn compile(raw: &str, case_insensitive: bool) -> Self {
        let kind = if raw == "*" {
            Kind::Any
        } else if !raw.contains(['*', '?']) {
            Kind::Exact(raw.to_owned())
        } else if raw.ends_with('*') && !raw[..raw.len() - 1].contains(['*', '?']) {
            Kind::Prefix(raw[..raw.len() - 1].to_owned())
        } else {
            Kind::Glob(raw.as_bytes().to_vec())
        };
        Self {
            kind,
            case_insensitive,
        }
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let ci = self.case_insensitive;
        match &self.kind {
            Kind::Any => true,
            Kind::Exact(s) => eq(s.as_bytes(), value.as_bytes(), ci),
            Kind::Prefix(p) => {
                value.len() >= p.len() && eq(p.as_bytes(), &value.as_bytes()[..p.len()], ci)
            }
            Kind::Glob(g) => glob(g, value.as_bytes(), ci),
        }
    }
}

fn eq(pattern: &[u8], value: &[u8], ci: bool) -> bool {
    if ci {
        pattern.eq_ignore_ascii_case(value)
    } else {
        pattern == value
    }
}

fn byte_eq(p: u8, v: u8, ci: bool) -> bool {
    p == v || (ci && p.eq_ignore_ascii_case(&v))
}

/// The length of the UTF-8 character starting at `value[i]` (`value` is valid UTF-8).
fn char_len(value: &[u8], i: usize) -> usize {
    match value[i] {
        b if b < 0x80 => 1,
        b if b >= 0xf0 => 4,
        b if b >= 0xe0 => 3,
        _ => 2,
    }
    .min(value.len() - i)
}

/// Linear-time wildcard match with one backtrack point (the classic two-pointer algorithm),
/// on bytes, with `?` and star backtracking stepping whole UTF-8 characters.
fn glob(pattern: &[u8], value: &[u8], ci: bool) -> bool {
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, v));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                v += char_len(value, v);
            }
            Some(&c) if byte_eq(c, value[v], ci) => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some((sp, sv)) => {
                    let next = sv + char_len(value, sv);
                    p = sp + 1;
                    v = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn action_patterns_ignore_case() {
        assert!(Pattern::ignoring_case("ec2:DescribeRegions").matches("EC2:describeregions"));
        assert!(Pattern::ignoring_case("ec2:Describe*").matches("ec2:DescribeRegions"));
        assert!(Pattern::ignoring_case("*").matches("sts:AssumeRole"));
        assert!(Pattern::ignoring_case("s3:Get*Acl").matches("s3:GetObjectAcl"));
        assert!(!Pattern::ignoring_case("s3:Get*").matches("ec2:GetConsoleOutput"));
        assert!(Pattern::ignoring_case("ec2:Describe?egions").matches("ec2:DescribeRegions"));
    }

    #[test]
    fn resource_patterns_are_case_sensitive() {
        assert!(Pattern::exact_case("arn:aws:iam::1:role/*").matches("arn:aws:iam::1:role/Deploy"));
        assert!(
            !Pattern::exact_case("arn:aws:iam::1:role/deploy")
                .matches("arn:aws:iam::1:role/Deploy")
        );
    }

    /// Reference: a regex built from the pattern.
    fn reference(pattern: &str, value: &str) -> bool {
        let mut memo = vec![vec![None; value.len() + 1]; pattern.len() + 1];
        fn go(p: &[u8], v: &[u8], i: usize, j: usize, m: &mut Vec<Vec<Option<bool>>>) -> bool {
            if let Some(r) = m[i][j] {
                return r;
            }
            let r = if i == p.len() {
                j == v.len()
            } else if p[i] == b'*' {
                go(p, v, i + 1, j, m) || (j < v.len() && go(p, v, i, j + 1, m))
            } else {
                j < v.len() && (p[i] == b'?' || p[i] == v[j]) && go(p, v, i + 1, j + 1, m)
            };
            m[i][j] = Some(r);
            r
        }
        go(pattern.as_bytes(), value.as_bytes(), 0, 0, &mut memo)
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        assert!(Pattern::exact_case("a?c").matches("aሴc"));
        assert!(!Pattern::exact_case("a??c").matches("aሴc"));
        assert!(Pattern::exact_case("*ሴ").matches("xyሴ"));
    }

    proptest! {
        #[test]
        fn glob_agrees_with_a_reference_matcher(p in "[ab*?]{0,8}", v in "[ab]{0,10}") {
            prop_assert_eq!(Pattern::exact_case(&p).matches(&v), reference(&p, &v));
        }
    }
}
