#![no_main]
//! RTSP stream framing: the input is framed whole and in chunks whose sizes come from its
//! first byte; both must give the same items, and nothing may panic.
use camlink::rtsp::framing::{Framer, Item, Limits};
use libfuzzer_sys::fuzz_target;

fn frame(limits: Limits, data: &[u8], chunk: usize) -> Vec<Result<Item, camlink::ErrorKind>> {
    let mut f = Framer::new(limits);
    let mut out = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        f.read_buf().extend_from_slice(c);
        loop {
            match f.next_item() {
                Ok(Some(i)) => out.push(Ok(i)),
                Ok(None) => break,
                Err(e) => out.push(Err(e.kind().clone())),
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_head: 256,
        max_body: 256,
        max_buffered: 1 << 20,
    };
    let whole = frame(limits, rest, rest.len());
    let split = frame(limits, rest, usize::from(first));
    assert_eq!(whole, split);
});
