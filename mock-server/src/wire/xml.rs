//! XML rendering: the only module that writes XML (text escaping comes from `quick-xml`).
//!
//! Handlers describe their result as a small tree of [`Node`]s; the service dialect decides
//! the list item tag (`member` for STS/IAM, `item` for EC2) and the envelope around it.

use std::borrow::Cow;

use quick_xml::escape::escape;

/// A piece of a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// `<name>text</name>`; static text (region names, statuses) is not copied.
    Leaf(&'static str, Cow<'static, str>),
    /// `<name>children…</name>`
    Branch(&'static str, Vec<Node>),
    /// `<name><item>…</item>…</name>`, or `<name/>` when empty; the item tag is the dialect's.
    List(&'static str, Vec<Vec<Node>>),
    /// `<name><item>text</item>…</name>`, or `<name/>` when empty.
    TextList(&'static str, Vec<String>),
    /// XML rendered before (by [`render`]), inserted as it is: answers that are the same
    /// for every request are rendered once.
    Rendered(std::sync::Arc<str>),
}

impl Node {
    /// A leaf from anything printable.
    pub(crate) fn leaf(name: &'static str, text: impl Into<Cow<'static, str>>) -> Self {
        Node::Leaf(name, text.into())
    }
}

/// Appends `<name>` to `out`, with an `xmlns` when given.
pub(crate) fn open(out: &mut String, name: &str, xmlns: Option<&str>) {
    open_suffixed(out, name, "", xmlns);
}

/// Appends `<{name}{suffix}>` (`<GetRoleResponse>`), with an `xmlns` when given.
pub(crate) fn open_suffixed(out: &mut String, name: &str, suffix: &str, xmlns: Option<&str>) {
    out.push('<');
    out.push_str(name);
    out.push_str(suffix);
    if let Some(ns) = xmlns {
        out.push_str(" xmlns=\"");
        out.push_str(ns);
        out.push('"');
    }
    out.push('>');
}

/// Appends `</name>`.
pub(crate) fn close(out: &mut String, name: &str) {
    close_suffixed(out, name, "");
}

/// Appends `</{name}{suffix}>`.
pub(crate) fn close_suffixed(out: &mut String, name: &str, suffix: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push_str(suffix);
    out.push('>');
}

/// Appends `<name>escaped text</name>`.
pub(crate) fn leaf(out: &mut String, name: &str, text: &str) {
    open(out, name, None);
    // Almost every text (ids, ARNs, tokens, dates) has nothing to escape: look for the
    // five characters with SIMD (a session token is kilobytes).
    let bytes = text.as_bytes();
    if memchr::memchr3(b'<', b'>', b'&', bytes).is_some()
        || memchr::memchr2(b'"', b'\'', bytes).is_some()
    {
        out.push_str(&escape(text));
    } else {
        out.push_str(text);
    }
    close(out, name);
}

/// About how many bytes `render` writes for `nodes` (exact for text with nothing to
/// escape, with `item` tags of up to six letters): what a response buffer is sized with.
pub(crate) fn size(nodes: &[Node]) -> usize {
    const ITEM: usize = 2 * "<member>".len() + 1;
    nodes
        .iter()
        .map(|node| match node {
            Node::Leaf(name, text) => 2 * name.len() + 5 + text.len(),
            Node::Branch(name, children) => 2 * name.len() + 5 + size(children),
            Node::TextList(name, items) => {
                2 * name.len() + 5 + items.iter().map(|t| ITEM + t.len()).sum::<usize>()
            }
            Node::List(name, items) => {
                2 * name.len() + 5 + items.iter().map(|i| ITEM + size(i)).sum::<usize>()
            }
            Node::Rendered(xml) => xml.len(),
        })
        .sum()
}

/// Appends the nodes, using `item` as the list item tag.
pub(crate) fn render(out: &mut String, nodes: &[Node], item: &str) {
    for node in nodes {
        match node {
            Node::Leaf(name, text) => leaf(out, name, text),
            Node::Branch(name, children) => {
                open(out, name, None);
                render(out, children, item);
                close(out, name);
            }
            Node::TextList(name, items) if items.is_empty() => empty(out, name),
            Node::TextList(name, items) => {
                open(out, name, None);
                for text in items {
                    leaf(out, item, text);
                }
                close(out, name);
            }
            Node::Rendered(xml) => out.push_str(xml),
            Node::List(name, items) if items.is_empty() => empty(out, name),
            Node::List(name, items) => {
                open(out, name, None);
                for children in items {
                    open(out, item, None);
                    render(out, children, item);
                    close(out, item);
                }
                close(out, name);
            }
        }
    }
}

fn empty(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str("/>");
}

/// The XML declaration every AWS query response starts with.
pub(crate) const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_empty_lists_self_close() {
        let mut out = String::new();
        render(
            &mut out,
            &[
                Node::leaf("A", "x<y&\"z\""),
                Node::List("L", vec![]),
                Node::List("M", vec![vec![Node::leaf("B", "1")]]),
            ],
            "member",
        );
        assert_eq!(
            out,
            "<A>x&lt;y&amp;&quot;z&quot;</A><L/><M><member><B>1</B></member></M>"
        );
    }
}
