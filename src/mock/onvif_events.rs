//! The mock camera's event service: pull-point subscriptions with timeouts, and motion events
//! published by [`MockCamera::trigger_motion`](super::MockCamera::trigger_motion).

use std::time::{Duration, Instant};

use super::camera::{Shared, lock};
use super::onvif_server::{Answer, Ctx, FaultSpec, parse_duration};
use super::onvif_state::EventMessage;
use crate::datetime::{format_utc, parse_datetime};
use crate::onvif::soap::ns;
use crate::xmlutil::escape;

/// The motion topic.
pub const MOTION_TOPIC: &str = "tns1:RuleEngine/CellMotionDetector/Motion";
const TOPICS_NS: &str = "http://www.onvif.org/ver10/topics";
const CONCRETE_SET: &str = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";
/// Longest PullMessages wait.
pub const MAX_PULL_WAIT: Duration = Duration::from_secs(30);
/// Most messages answered by one PullMessages.
pub const MAX_PULL_MESSAGES: usize = 100;
/// Subscription lifetimes are kept within these bounds.
const MIN_LIFETIME: Duration = Duration::from_secs(1);
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

fn resp(prefix: &str, ns_uri: &str, op: &str, inner: &str) -> Answer {
    Answer::Body(format!(
        r#"<{prefix}:{op}Response xmlns:{prefix}="{ns_uri}" xmlns:tev="{}" xmlns:wsnt="{}" xmlns:wsa="{}" xmlns:tt="{}" xmlns:tns1="{TOPICS_NS}" xmlns:wstop="{}">{inner}</{prefix}:{op}Response>"#,
        ns::TEV,
        ns::WSNT,
        ns::WSA,
        ns::TT,
        ns::WSTOP,
    ))
}

/// A motion message with the camera's time.
pub(crate) fn motion_message(shared: &Shared, on: bool, operation: &'static str) -> EventMessage {
    EventMessage {
        topic: MOTION_TOPIC.into(),
        utc: shared.camera_now(),
        operation,
        source: vec![
            (
                "VideoSourceConfigurationToken".into(),
                "VideoSourceConfig_1".into(),
            ),
            (
                "VideoAnalyticsConfigurationToken".into(),
                "VideoAnalytics_1".into(),
            ),
            ("Rule".into(), "MotionDetectorRule".into()),
        ],
        data: vec![("IsMotion".into(), on.to_string())],
    }
}

fn items(tag: &str, list: &[(String, String)]) -> String {
    let inner: String = list
        .iter()
        .map(|(n, v)| {
            format!(
                r#"<tt:SimpleItem Name="{}" Value="{}"/>"#,
                escape(n),
                escape(v)
            )
        })
        .collect();
    format!("<tt:{tag}>{inner}</tt:{tag}>")
}

fn notification(m: &EventMessage) -> String {
    format!(
        "<wsnt:NotificationMessage><wsnt:Topic Dialect=\"{CONCRETE_SET}\">{}</wsnt:Topic><wsnt:Message>\
         <tt:Message UtcTime=\"{}\" PropertyOperation=\"{}\">{}{}</tt:Message></wsnt:Message></wsnt:NotificationMessage>",
        escape(&m.topic),
        format_utc(m.utc),
        m.operation,
        items("Source", &m.source),
        items("Data", &m.data)
    )
}

/// A termination time: an `xs:duration` from now or an absolute camera time.
fn lifetime(value: Option<&str>, camera_now: i64) -> Duration {
    let secs = match value {
        None => 60.0,
        Some(v) if v.trim_start().starts_with('P') => parse_duration(v).unwrap_or(60.0),
        Some(v) => parse_datetime(v).map_or(60.0, |t| (t - camera_now) as f64),
    };
    Duration::from_secs_f64(secs.clamp(MIN_LIFETIME.as_secs_f64(), MAX_LIFETIME.as_secs_f64()))
}

fn subscription_id(path: &str) -> Option<u64> {
    path.strip_prefix("/onvif/subscription/")?.parse().ok()
}

fn unknown_subscription() -> Answer {
    Answer::Fault(FaultSpec::invalid_arg(
        "InvalidSubscription",
        "unknown or expired subscription (the pull point may have been lost in a reboot)",
    ))
}

/// Event service operations (including the WS-BaseNotification ones on subscriptions).
pub(crate) async fn handle(ctx: &Ctx<'_>, op: &str) -> Answer {
    let s = ctx.shared;
    let camera_now = s.camera_now();
    match op {
        "GetServiceCapabilities" => resp(
            "tev",
            ns::TEV,
            op,
            r#"<tev:Capabilities WSSubscriptionPolicySupport="false" WSPausableSubscriptionManagerInterfaceSupport="false" MaxPullPoints="64"/>"#,
        ),
        "GetEventProperties" => resp(
            "tev",
            ns::TEV,
            op,
            "<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>\
                 <wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>\
                 <wstop:TopicSet><tns1:RuleEngine><CellMotionDetector><Motion wstop:topic=\"true\">\
                 <tt:MessageDescription IsProperty=\"true\"><tt:Source>\
                 <tt:SimpleItemDescription Name=\"VideoSourceConfigurationToken\" Type=\"tt:ReferenceToken\"/>\
                 <tt:SimpleItemDescription Name=\"VideoAnalyticsConfigurationToken\" Type=\"tt:ReferenceToken\"/>\
                 <tt:SimpleItemDescription Name=\"Rule\" Type=\"xs:string\"/></tt:Source>\
                 <tt:Data><tt:SimpleItemDescription Name=\"IsMotion\" Type=\"xs:boolean\"/></tt:Data>\
                 </tt:MessageDescription></Motion></CellMotionDetector></tns1:RuleEngine></wstop:TopicSet>\
                 <wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>\
                 <wsnt:TopicExpressionDialect>http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete</wsnt:TopicExpressionDialect>\
                 <tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>\
                 <tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>",
        ),
        "CreatePullPointSubscription" => {
            let life = lifetime(ctx.arg("InitialTerminationTime"), camera_now);
            // As cameras do, a new subscription starts with the current state of every
            // property (`Initialized`), here the motion detector.
            let id = {
                let mut st = lock(&s.onvif);
                let id = st.subscribe(life, Instant::now());
                let initial = motion_message(s, st.motion, "Initialized");
                if let Some(sub) = id.and_then(|id| st.subscriptions.get_mut(&id)) {
                    sub.queue.push_back(initial);
                }
                id
            };
            let Some(id) = id else {
                return Answer::Fault(FaultSpec {
                    status: 500,
                    code: "Receiver",
                    subcodes: vec![(ns::TER, "Action"), (ns::TER, "TooManySubscriptions")],
                    reason: "too many subscriptions".into(),
                });
            };
            let address = format!("{}/onvif/subscription/{id}", ctx.base_url());
            resp(
                "tev",
                ns::TEV,
                op,
                &format!(
                    "<tev:SubscriptionReference><wsa:Address>{}</wsa:Address></tev:SubscriptionReference>\
                     <wsnt:CurrentTime>{}</wsnt:CurrentTime><wsnt:TerminationTime>{}</wsnt:TerminationTime>",
                    escape(&address),
                    format_utc(camera_now),
                    format_utc(camera_now + life.as_secs() as i64)
                ),
            )
        }
        "PullMessages" => {
            let Some(id) = subscription_id(ctx.path) else {
                return unknown_subscription();
            };
            let wait = ctx
                .arg("Timeout")
                .and_then(parse_duration)
                .map(|t| Duration::from_secs_f64(t.clamp(0.0, MAX_PULL_WAIT.as_secs_f64())))
                .unwrap_or(Duration::from_secs(5));
            let limit = ctx
                .arg("MessageLimit")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(10)
                .clamp(1, MAX_PULL_MESSAGES);
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let notified = s.events_notify.notified();
                let taken = {
                    let mut st = lock(&s.onvif);
                    st.expire(Instant::now());
                    match st.subscriptions.get_mut(&id) {
                        None => return unknown_subscription(),
                        Some(sub) => {
                            let n = sub.queue.len().min(limit);
                            sub.queue.drain(..n).collect::<Vec<_>>()
                        }
                    }
                };
                if !taken.is_empty() || tokio::time::Instant::now() >= deadline {
                    let expires = {
                        let st = lock(&s.onvif);
                        st.subscriptions
                            .get(&id)
                            .map(|sub| sub.expires.saturating_duration_since(Instant::now()))
                            .unwrap_or_default()
                    };
                    let now = s.camera_now();
                    let msgs: String = taken.iter().map(notification).collect();
                    return resp(
                        "tev",
                        ns::TEV,
                        op,
                        &format!(
                            "<tev:CurrentTime>{}</tev:CurrentTime><tev:TerminationTime>{}</tev:TerminationTime>{msgs}",
                            format_utc(now),
                            format_utc(now + expires.as_secs() as i64)
                        ),
                    );
                }
                let _ = tokio::time::timeout_at(deadline, notified).await;
            }
        }
        "Renew" => {
            let Some(id) = subscription_id(ctx.path) else {
                return unknown_subscription();
            };
            let life = lifetime(ctx.arg("TerminationTime"), camera_now);
            let mut st = lock(&s.onvif);
            st.expire(Instant::now());
            match st.subscriptions.get_mut(&id) {
                None => unknown_subscription(),
                Some(sub) => {
                    sub.expires = Instant::now() + life;
                    resp(
                        "wsnt",
                        ns::WSNT,
                        op,
                        &format!(
                            "<wsnt:TerminationTime>{}</wsnt:TerminationTime><wsnt:CurrentTime>{}</wsnt:CurrentTime>",
                            format_utc(camera_now + life.as_secs() as i64),
                            format_utc(camera_now)
                        ),
                    )
                }
            }
        }
        "Unsubscribe" => {
            let Some(id) = subscription_id(ctx.path) else {
                return unknown_subscription();
            };
            if lock(&s.onvif).subscriptions.remove(&id).is_some() {
                resp("wsnt", ns::WSNT, op, "")
            } else {
                unknown_subscription()
            }
        }
        "SetSynchronizationPoint" => {
            let mut st = lock(&s.onvif);
            let on = st.motion;
            let msg = motion_message(s, on, "Initialized");
            if let Some(sub) =
                subscription_id(ctx.path).and_then(|id| st.subscriptions.get_mut(&id))
            {
                sub.queue.push_back(msg);
            } else {
                st.publish(msg, Instant::now());
            }
            drop(st);
            s.events_notify.notify_waiters();
            resp("tev", ns::TEV, op, "")
        }
        _ => Answer::Fault(FaultSpec::not_supported(op)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_bounded() {
        assert_eq!(lifetime(Some("PT10S"), 0), Duration::from_secs(10));
        assert_eq!(lifetime(Some("PT0S"), 0), MIN_LIFETIME);
        assert_eq!(lifetime(Some("P30D"), 0), MAX_LIFETIME);
        assert_eq!(
            lifetime(Some("1970-01-01T00:02:00Z"), 60),
            Duration::from_secs(60)
        );
        assert_eq!(lifetime(None, 0), Duration::from_secs(60));
        assert_eq!(subscription_id("/onvif/subscription/7"), Some(7));
        assert_eq!(subscription_id("/onvif/events_service"), None);
    }
}
