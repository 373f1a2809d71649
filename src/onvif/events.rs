//! Event service (`tev`, WS-BaseNotification): pull-point subscriptions and notifications.
//!
//! Requests to a subscription (PullMessages, Renew, Unsubscribe, SetSynchronizationPoint) go to
//! the subscription's own address with WS-Addressing headers; [`Subscription::addressing`] builds
//! those, echoing the reference parameters the camera handed out.

use std::time::Duration;

use crate::Result;
use crate::datetime::{format_utc, parse_datetime};
use crate::onvif::soap::Addressing;
use crate::onvif::soap::ns::{TEV, TT, WSA, WSNT, WSTOP};
use crate::onvif::xml::Element;
use crate::onvif::{Call, bad, expect};

/// Most notifications kept from one PullMessages answer.
pub const MAX_MESSAGES_PER_PULL: usize = 1024;
/// Most topics listed from GetEventProperties.
pub const MAX_TOPICS: usize = 4096;

const PULL_ACTION: &str =
    "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesRequest";
const SYNC_ACTION: &str =
    "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/SetSynchronizationPointRequest";
const RENEW_ACTION: &str = "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewRequest";
const UNSUBSCRIBE_ACTION: &str =
    "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeRequest";

fn xs_duration(d: Duration) -> String {
    format!("PT{}S", d.as_secs().max(1))
}

fn subscription_call(action: &str, op_ns: &str, op: &str, inner: &str) -> Call {
    let body = if inner.is_empty() {
        format!(r#"<{op} xmlns="{op_ns}"/>"#)
    } else {
        format!(r#"<{op} xmlns="{op_ns}">{inner}</{op}>"#)
    };
    Call {
        action: action.to_string(),
        body,
        idempotent: false,
        addressing: true,
    }
}

/// `GetEventProperties`.
pub fn get_event_properties() -> Call {
    let mut c = Call::new(TEV, "GetEventProperties", "");
    c.action =
        "http://www.onvif.org/ver10/events/wsdl/EventPortType/GetEventPropertiesRequest".into();
    c
}

/// `CreatePullPointSubscription` with an initial termination time relative to now.
pub fn create_pull_point_subscription(initial_termination: Duration) -> Call {
    let mut c = Call::new(
        TEV,
        "CreatePullPointSubscription",
        &format!(
            "<InitialTerminationTime>{}</InitialTerminationTime>",
            xs_duration(initial_termination)
        ),
    );
    c.action =
        "http://www.onvif.org/ver10/events/wsdl/EventPortType/CreatePullPointSubscriptionRequest"
            .into();
    c.idempotent = false;
    c
}

/// `PullMessages`: wait up to `timeout` on the camera for up to `limit` messages.
pub fn pull_messages(timeout: Duration, limit: u32) -> Call {
    subscription_call(
        PULL_ACTION,
        TEV,
        "PullMessages",
        &format!(
            "<Timeout>{}</Timeout><MessageLimit>{limit}</MessageLimit>",
            xs_duration(timeout)
        ),
    )
}

/// `Renew` to an absolute termination time in the camera's clock (seconds since the epoch).
pub fn renew(termination_unix: i64) -> Call {
    subscription_call(
        RENEW_ACTION,
        WSNT,
        "Renew",
        &format!(
            "<TerminationTime>{}</TerminationTime>",
            format_utc(termination_unix)
        ),
    )
}

/// `Unsubscribe`.
pub fn unsubscribe() -> Call {
    subscription_call(UNSUBSCRIBE_ACTION, WSNT, "Unsubscribe", "")
}

/// `SetSynchronizationPoint` (asks the camera to resend the current state of property events).
pub fn set_synchronization_point() -> Call {
    subscription_call(SYNC_ACTION, TEV, "SetSynchronizationPoint", "")
}

/// A pull-point subscription the camera created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Where PullMessages, Renew and Unsubscribe go.
    pub address: String,
    /// Reference parameters to echo in every request header (serialised XML elements).
    pub reference_parameters: Vec<String>,
    /// The camera's time when it answered (seconds since the epoch), if given.
    pub current_time: Option<i64>,
    /// When the subscription ends in the camera's clock, if given.
    pub termination_time: Option<i64>,
}

impl Subscription {
    /// WS-Addressing headers for a request to this subscription.
    pub fn addressing(&self, call: &Call) -> Addressing {
        Addressing {
            action: call.action.clone(),
            to: self.address.clone(),
            message_id: None,
            reference_parameters: self.reference_parameters.clone(),
        }
    }
}

/// Parses `CreatePullPointSubscriptionResponse`.
pub fn parse_create_pull_point_subscription(el: &Element) -> Result<Subscription> {
    let el = expect(el, TEV, "CreatePullPointSubscriptionResponse")?;
    let r = el
        .child(TEV, "SubscriptionReference")
        .ok_or_else(|| bad(el, "no SubscriptionReference"))?;
    let address = r
        .child_text(WSA, "Address")
        .ok_or_else(|| bad(r, "SubscriptionReference without Address"))?;
    crate::onvif::check_uri(r, address, &["http", "https"])?;
    let reference_parameters = r
        .child(WSA, "ReferenceParameters")
        .map(|p| p.children.iter().map(Element::to_xml).collect())
        .unwrap_or_default();
    Ok(Subscription {
        address: address.to_string(),
        reference_parameters,
        current_time: el.child_text(WSNT, "CurrentTime").and_then(parse_datetime),
        termination_time: el
            .child_text(WSNT, "TerminationTime")
            .and_then(parse_datetime),
    })
}

/// Whether a property-style notification reports a new, changed or deleted state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyOperation {
    /// The state exists from now (or this is the synchronisation snapshot).
    Initialized,
    /// The state changed.
    Changed,
    /// The state is gone.
    Deleted,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The topic as written (`tns1:VideoSource/MotionAlarm`).
    pub topic: String,
    /// When it happened in the camera's clock (seconds since the epoch), if given.
    pub utc_time: Option<i64>,
    /// For property events, what happened to the state.
    pub property_operation: Option<PropertyOperation>,
    /// Source simple items (name, value): which input, which rule.
    pub source: Vec<(String, String)>,
    /// Key simple items.
    pub key: Vec<(String, String)>,
    /// Data simple items: the state (`State` = `true`, ...).
    pub data: Vec<(String, String)>,
}

impl Notification {
    /// The topic without namespace prefixes (`VideoSource/MotionAlarm`).
    pub fn topic_path(&self) -> String {
        self.topic
            .split('/')
            .map(|seg| seg.rsplit_once(':').map(|(_, l)| l).unwrap_or(seg).trim())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A data item's value by name.
    pub fn data_value(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn simple_items(el: Option<&Element>) -> Vec<(String, String)> {
    el.map(|e| {
        e.children_named(TT, "SimpleItem")
            .filter_map(|i| Some((i.attr("Name")?.to_string(), i.attr("Value")?.to_string())))
            .collect()
    })
    .unwrap_or_default()
}

/// Parses one `wsnt:NotificationMessage`.
pub fn parse_notification(n: &Element) -> Result<Notification> {
    let topic = n
        .child(WSNT, "Topic")
        .map(|t| t.trimmed().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad(n, "NotificationMessage without Topic"))?;
    let msg = n
        .child(WSNT, "Message")
        .and_then(|m| m.child(TT, "Message"))
        .ok_or_else(|| bad(n, "NotificationMessage without tt:Message"))?;
    Ok(Notification {
        topic,
        utc_time: msg.attr("UtcTime").and_then(parse_datetime),
        property_operation: match msg.attr("PropertyOperation") {
            Some("Initialized") => Some(PropertyOperation::Initialized),
            Some("Changed") => Some(PropertyOperation::Changed),
            Some("Deleted") => Some(PropertyOperation::Deleted),
            _ => None,
        },
        source: simple_items(msg.child(TT, "Source")),
        key: simple_items(msg.child(TT, "Key")),
        data: simple_items(msg.child(TT, "Data")),
    })
}

/// `PullMessagesResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullMessages {
    /// The camera's time, if given.
    pub current_time: Option<i64>,
    /// When the subscription ends in the camera's clock, if given.
    pub termination_time: Option<i64>,
    /// The notifications (at most [`MAX_MESSAGES_PER_PULL`]).
    pub messages: Vec<Notification>,
}

/// Parses `PullMessagesResponse`. Notifications that cannot be read are skipped (and logged).
pub fn parse_pull_messages(el: &Element) -> Result<PullMessages> {
    let el = expect(el, TEV, "PullMessagesResponse")?;
    let mut messages = Vec::new();
    for n in el.children_named(WSNT, "NotificationMessage") {
        if messages.len() >= MAX_MESSAGES_PER_PULL {
            tracing::warn!(
                "more than {MAX_MESSAGES_PER_PULL} notifications in one pull; rest dropped"
            );
            break;
        }
        match parse_notification(n) {
            Ok(m) => messages.push(m),
            Err(e) => tracing::debug!("notification skipped: {e}"),
        }
    }
    Ok(PullMessages {
        current_time: el.child_text(TEV, "CurrentTime").and_then(parse_datetime),
        termination_time: el
            .child_text(TEV, "TerminationTime")
            .and_then(parse_datetime),
        messages,
    })
}

/// Parses `RenewResponse`, returning the new termination time if given.
pub fn parse_renew(el: &Element) -> Result<Option<i64>> {
    let el = expect(el, WSNT, "RenewResponse")?;
    Ok(el
        .child_text(WSNT, "TerminationTime")
        .and_then(parse_datetime))
}

/// Parses an empty acknowledgement (`UnsubscribeResponse`, `SetSynchronizationPointResponse`).
pub fn parse_ack(el: &Element, operation: &str) -> Result<()> {
    let ns = if operation == "Unsubscribe" {
        WSNT
    } else {
        TEV
    };
    expect(el, ns, &format!("{operation}Response")).map(|_| ())
}

/// One topic a camera can raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Local names from the topic set root (`VideoSource/MotionAlarm`).
    pub path: String,
    /// Whether it is a property (a state with Initialized/Changed/Deleted).
    pub is_property: bool,
    /// Names of its source items.
    pub source_items: Vec<String>,
    /// Names of its data items.
    pub data_items: Vec<String>,
}

fn item_names(md: &Element, part: &str) -> Vec<String> {
    md.child(TT, part)
        .map(|p| {
            p.children_named(TT, "SimpleItemDescription")
                .filter_map(|i| i.attr("Name").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn walk_topics(el: &Element, prefix: &str, out: &mut Vec<TopicDescription>) {
    for c in &el.children {
        if out.len() >= MAX_TOPICS {
            return;
        }
        if c.name == "MessageDescription" {
            continue;
        }
        let path = if prefix.is_empty() {
            c.name.to_string()
        } else {
            format!("{prefix}/{}", c.name)
        };
        if let Some(md) = c.child(TT, "MessageDescription") {
            out.push(TopicDescription {
                path: path.clone(),
                is_property: md
                    .attr("IsProperty")
                    .and_then(crate::onvif::parse_bool)
                    .unwrap_or(false),
                source_items: item_names(md, "Source"),
                data_items: item_names(md, "Data"),
            });
        }
        walk_topics(c, &path, out);
    }
}

/// Parses `GetEventPropertiesResponse` into the topics that carry a message description.
pub fn parse_event_properties(el: &Element) -> Result<Vec<TopicDescription>> {
    let el = expect(el, TEV, "GetEventPropertiesResponse")?;
    let mut out = Vec::new();
    if let Some(ts) = el.child(WSTOP, "TopicSet") {
        walk_topics(ts, "", &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onvif::soap;

    #[test]
    fn reference_parameters_are_echoed() {
        let doc = format!(
            r#"<s:Envelope xmlns:s="{}" xmlns:tev="{TEV}" xmlns:wsa="{WSA}" xmlns:wsnt="{WSNT}"><s:Body><tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>http://127.0.0.1:8080/onvif/events/sub</wsa:Address><wsa:ReferenceParameters><x:SubscriptionId xmlns:x="urn:vendor">42</x:SubscriptionId></wsa:ReferenceParameters></tev:SubscriptionReference><wsnt:CurrentTime>2024-01-01T00:00:00Z</wsnt:CurrentTime><wsnt:TerminationTime>2024-01-01T00:01:00Z</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse></s:Body></s:Envelope>"#,
            soap::ns::SOAP12
        );
        let el = soap::parse_http_response(200, doc.as_bytes()).unwrap();
        let sub = parse_create_pull_point_subscription(&el).unwrap();
        assert_eq!(
            sub.termination_time
                .zip(sub.current_time)
                .map(|(t, c)| t - c),
            Some(60)
        );
        let call = pull_messages(Duration::from_secs(5), 10);
        let env = soap::build_request(&call.body, None, Some(&sub.addressing(&call)));
        let req = soap::parse_request(env.as_bytes()).unwrap();
        assert_eq!(req.operation(), "PullMessages");
        let header = req.envelope.header.unwrap();
        let id = header.child("urn:vendor", "SubscriptionId").unwrap();
        assert_eq!(id.ns.as_deref(), Some("urn:vendor"));
        assert_eq!(id.text, "42");
        assert_eq!(
            header.child_text(WSA, "To"),
            Some("http://127.0.0.1:8080/onvif/events/sub")
        );
    }

    #[test]
    fn topic_path_strips_prefixes() {
        let n = Notification {
            topic: "tns1:RuleEngine/CellMotionDetector/Motion".into(),
            utc_time: None,
            property_operation: None,
            source: vec![],
            key: vec![],
            data: vec![("IsMotion".into(), "true".into())],
        };
        assert_eq!(n.topic_path(), "RuleEngine/CellMotionDetector/Motion");
        assert_eq!(n.data_value("IsMotion"), Some("true"));
    }
}
