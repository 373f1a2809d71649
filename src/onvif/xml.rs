//! A small, bounded, namespace-aware XML tree for SOAP messages.
//!
//! Built on quick-xml's `NsReader`: element names are resolved to (namespace URI, local name) and
//! matched on those, never on prefixes. Cameras do not always declare the prefixes they use, so an
//! element whose prefix is unknown keeps `ns == None` and is still found by its local name.
//! Text is accumulated across text, entity and CDATA events. DTDs are ignored and no entity other
//! than the five predefined ones and character references is ever expanded (an unknown `&name;`
//! is kept literally). Documents are capped in size ([`MAX_DOCUMENT_BYTES`]), depth
//! ([`MAX_DEPTH`]) and element count ([`MAX_ELEMENTS`]).

use std::borrow::Cow;
use std::sync::Arc;

use compact_str::CompactString;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::{Error, ErrorKind, Result};

/// Largest XML document (SOAP response or request) camlink parses, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 96;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 200_000;

/// One attribute: its namespace (if any, resolved), local name and unescaped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI of a prefixed attribute (`None` for unprefixed or unresolved ones).
    pub ns: Option<String>,
    /// Local name.
    pub name: CompactString,
    /// Value with entities and character references resolved.
    pub value: CompactString,
}

/// One element of a parsed document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Namespace URI; `None` when unqualified or when its prefix was never declared (shared
    /// between the elements of a document).
    pub ns: Option<Arc<str>>,
    /// Local name (without prefix); stored inline when short, as element names are.
    pub name: CompactString,
    /// Attributes (namespace declarations excluded).
    pub attributes: Vec<Attribute>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own text (all its text, entity and CDATA pieces, concatenated); stored
    /// inline when short.
    pub text: CompactString,
    /// Byte offset of the start tag in the input.
    pub offset: usize,
}

impl Element {
    /// Whether this element is `{ns}name`. An element whose prefix was not declared (or that is
    /// unqualified) matches on the local name alone.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref().is_none_or(|n| n == ns)
    }

    /// Whether this element is `{ns}name` for one of several namespaces.
    pub fn is_any(&self, nss: &[&str], name: &str) -> bool {
        self.name == name && self.ns.as_deref().is_none_or(|n| nss.contains(&n))
    }

    /// The first child `{ns}name`; failing that, the first child with that local name in any
    /// namespace (cameras that put elements in the wrong or a vendor namespace).
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.is(ns, name))
            .or_else(|| self.children.iter().find(|c| c.name == name))
    }

    /// The first child with this local name, whatever its namespace.
    pub fn child_local(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children `{ns}name` (or with that local name when no child matches exactly).
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        let exact = self.children.iter().any(|c| c.is(ns, name));
        self.children.iter().filter(move |c| {
            if exact {
                c.is(ns, name)
            } else {
                c.name == name
            }
        })
    }

    /// Follows a path of local names in one namespace (see [`child`](Self::child)).
    pub fn path(&self, ns: &str, names: &[&str]) -> Option<&Element> {
        let mut cur = self;
        for n in names {
            cur = cur.child(ns, n)?;
        }
        Some(cur)
    }

    /// The trimmed text of the child `{ns}name`, if present and not empty.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.child(ns, name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The trimmed text of this element.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// The value of the attribute with this local name (any namespace), trimmed.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.trim())
    }

    /// The first descendant (depth first, self excluded) with this local name, in `ns` when
    /// such a one exists.
    pub fn descendant(&self, ns: &str, name: &str) -> Option<&Element> {
        fn walk<'a>(e: &'a Element, f: &dyn Fn(&Element) -> bool) -> Option<&'a Element> {
            for c in &e.children {
                if f(c) {
                    return Some(c);
                }
                if let Some(found) = walk(c, f) {
                    return Some(found);
                }
            }
            None
        }
        walk(self, &|e| e.is(ns, name)).or_else(|| walk(self, &|e| e.name == name))
    }

    /// Serialises the element back to XML, each element declaring its own namespace (used to
    /// echo WS-Addressing reference parameters verbatim in meaning).
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_xml(&mut out);
        out
    }

    fn write_xml(&self, out: &mut String) {
        use crate::xmlutil::escape;
        out.push('<');
        out.push_str(&self.name);
        match &self.ns {
            Some(ns) => {
                out.push_str(" xmlns=\"");
                out.push_str(&escape(ns));
                out.push('"');
            }
            None => out.push_str(" xmlns=\"\""),
        }
        for (i, a) in self.attributes.iter().enumerate() {
            out.push(' ');
            if let Some(ns) = &a.ns {
                out.push_str(&format!("xmlns:a{i}=\"{}\" a{i}:", escape(ns)));
            }
            out.push_str(&a.name);
            out.push_str("=\"");
            out.push_str(&escape(&a.value));
            out.push('"');
        }
        out.push('>');
        out.push_str(&escape(&self.text));
        for c in &self.children {
            c.write_xml(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The first child element, whatever its name.
    pub fn first_child(&self) -> Option<&Element> {
        self.children.first()
    }
}

/// Parses a whole document into its root element.
///
/// Invalid UTF-8 is replaced (cameras with Latin-1 names exist); a DOCTYPE is skipped and never
/// expanded; anything after the root element is ignored.
pub fn parse(input: &[u8]) -> Result<Element> {
    if input.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::limit("XML document", MAX_DOCUMENT_BYTES));
    }
    // Valid UTF-8 (the usual case) is borrowed after a fast check; only invalid input is copied.
    let text: Cow<'_, str> = match std::str::from_utf8(input) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(input),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = NsReader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    // Namespace URIs seen so far: elements share them instead of allocating one each.
    let mut interned: Vec<Arc<str>> = Vec::new();
    loop {
        let pos = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(v) => v,
            Err(e) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(pos);
                return Err(Error::malformed(format!("XML: {e}"), at, input));
            }
        };
        let ns = match resolved {
            ResolveResult::Bound(n) => {
                let uri = n.into_inner();
                match interned.iter().find(|i| &***i == uri) {
                    Some(i) => Some(i.clone()),
                    None => {
                        let i: Arc<str> = Arc::from(uri);
                        if interned.len() < 64 {
                            interned.push(i.clone());
                        }
                        Some(i)
                    }
                }
            }
            _ => None,
        };
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(Error::new(
                        ErrorKind::LimitExceeded,
                        format!("XML document has more than {MAX_ELEMENTS} elements"),
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::new(
                        ErrorKind::LimitExceeded,
                        format!("XML nesting deeper than {MAX_DEPTH}"),
                    ));
                }
                let qname = s.name();
                let (local, _prefix) = qname.decompose();
                let mut el = Element {
                    ns,
                    name: CompactString::from(local.into_inner()),
                    offset: pos,
                    ..Element::default()
                };
                for attr in s.attributes().with_checks(false).flatten() {
                    if attr.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (ans, alocal) = reader.resolver().resolve_attribute(attr.key);
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| CompactString::from(v.as_ref()))
                        .unwrap_or_else(|_| CompactString::from(attr.value.as_ref()));
                    el.attributes.push(Attribute {
                        ns: match ans {
                            ResolveResult::Bound(n) => Some(n.into_inner().to_string()),
                            _ => None,
                        },
                        name: CompactString::from(alocal.into_inner()),
                        value,
                    });
                }
                if matches!(event, Event::Empty(_)) {
                    if let Some(done) = close(&mut stack, el) {
                        return Ok(done);
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(Error::malformed("XML: unexpected end tag", pos, input));
                };
                if let Some(done) = close(&mut stack, el) {
                    return Ok(done);
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    // Indentation between elements is dropped (checked on the raw bytes, before
                    // any decoding); text is read trimmed anyway.
                    if !top.text.is_empty() || !t.bytes().all(|b| b.is_ascii_whitespace()) {
                        top.text.push_str(&t.xml10_content());
                    }
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(ch)) => top.text.push(ch),
                        Ok(None) => {
                            let name = r.xml10_content();
                            match quick_xml::escape::resolve_predefined_entity(&name) {
                                Some(v) => top.text.push_str(v),
                                // Never expand other entities: keep them as written.
                                None => {
                                    top.text.push('&');
                                    top.text.push_str(&name);
                                    top.text.push(';');
                                }
                            }
                        }
                        Err(_) => {}
                    }
                }
            }
            Event::Eof => {
                return Err(Error::malformed(
                    if stack.is_empty() {
                        "XML: no root element"
                    } else {
                        "XML: document ends inside an element"
                    },
                    input.len(),
                    input,
                ));
            }
            // Declarations, comments, processing instructions and DTDs carry nothing for us.
            _ => {}
        }
    }
}

/// Attaches a finished element to its parent; returns it when it was the root.
fn close(stack: &mut [Element], el: Element) -> Option<Element> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(el);
            None
        }
        None => Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_namespaces_not_prefixes() {
        let doc = br#"<a:Root xmlns:a="urn:x" xmlns:b="urn:y" xmlns:c="urn:z"><c:Item>0</c:Item><b:Item>1</b:Item><zz:Item>2</zz:Item></a:Root>"#;
        let root = parse(doc).unwrap();
        assert!(root.is("urn:x", "Root"));
        assert!(!root.is("urn:y", "Root"));
        let items: Vec<_> = root
            .children_named("urn:y", "Item")
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(
            items,
            ["1", "2"],
            "namespace match (or undeclared prefix), not urn:z"
        );
        assert_eq!(root.child("urn:y", "Item").unwrap().text, "1");
        assert_eq!(
            root.child("urn:q", "Item").unwrap().text,
            "2",
            "undeclared prefix next"
        );
        // The undeclared prefix `zz` still matches by local name.
        assert_eq!(root.children[2].ns, None);
        assert!(root.children[2].is("urn:anything", "Item"));
    }

    #[test]
    fn accumulates_text_across_entities_and_cdata() {
        let doc = b"<r>a &amp; b &#x41;<![CDATA[<c>]]> &unknown;</r>";
        let root = parse(doc).unwrap();
        assert_eq!(root.text, "a & b A<c> &unknown;");
    }

    #[test]
    fn doctype_is_ignored_and_entities_not_expanded() {
        let doc = br#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.text, "&xxe;");
    }

    #[test]
    fn billion_laughs_is_not_expanded() {
        let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            doc.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        doc.push_str("]><lolz>&lol9;</lolz>");
        let root = parse(doc.as_bytes()).unwrap();
        assert_eq!(
            root.text, "&lol9;",
            "the entity stays unexpanded (no 10^9 blow-up)"
        );
    }

    #[test]
    fn serialises_back_with_namespaces() {
        let doc = br#"<a:Sub xmlns:a="urn:x" xmlns:b="urn:y" b:k="1&amp;2">id&lt;7</a:Sub>"#;
        let root = parse(doc).unwrap();
        let again = parse(root.to_xml().as_bytes()).unwrap();
        assert_eq!(again.ns.as_deref(), Some("urn:x"));
        assert_eq!(again.text, "id<7");
        assert_eq!(again.attributes[0].ns.as_deref(), Some("urn:y"));
        assert_eq!(again.attr("k"), Some("1&2"));
    }

    #[test]
    fn bounds() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().kind(),
            &ErrorKind::LimitExceeded
        );
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(parse(&big).unwrap_err().kind(), &ErrorKind::LimitExceeded);
        assert_eq!(
            parse(b"<a><b></a>").unwrap_err().kind(),
            &ErrorKind::Malformed
        );
        assert_eq!(parse(b"").unwrap_err().kind(), &ErrorKind::Malformed);
        assert_eq!(parse(b"<a>").unwrap_err().kind(), &ErrorKind::Malformed);
    }

    #[test]
    fn attributes_are_unescaped_and_namespaced() {
        let doc = br#"<r xmlns:x="urn:x" x:k="a&amp;b" plain="1"/>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.attr("k"), Some("a&b"));
        assert_eq!(root.attributes[0].ns.as_deref(), Some("urn:x"));
        assert_eq!(root.attr("plain"), Some("1"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse(&data);
        }
    }
}
