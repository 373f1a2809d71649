//! The harness every depacketizer target shares: a packet stream cut from the input, each
//! packet `[length, flags, payload...]`; flags bit 0 = marker, bits 1-2 = sequence numbers
//! skipped, bits 3-4 = timestamp steps, bit 5 = pushed through the borrowed path
//! (`Depacketizer::push_ref`) instead of the owned one, bit 6 = through the shared-buffer path
//! (`Depacketizer::push_shared`), bit 7 = `Depacketizer::release_buffers` before the push.
use camlink::codec::Depacketizer;
use camlink::rtp::{RtpPacket, RtpPacketBuilder};

pub fn run(d: &mut dyn Depacketizer, data: &[u8]) {
    let (mut seq, mut ts) = (0u16, 0u32);
    let mut rest = data;
    while let [len, flags, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        seq = seq.wrapping_add(1 + u16::from((flags >> 1) & 3));
        ts = ts.wrapping_add(3000 * u32::from((flags >> 3) & 3));
        let Ok(wire) = RtpPacketBuilder::new(96, seq, ts, 1)
            .marker(flags & 1 != 0)
            .build(payload)
        else {
            continue;
        };
        let Ok(pkt) = RtpPacket::parse(wire) else {
            continue;
        };
        if flags & 0x80 != 0 {
            d.release_buffers();
        }
        let _ = if flags & 0x40 != 0 {
            d.push_shared(&pkt.as_packet_ref(), pkt.raw())
        } else if flags & 0x20 != 0 {
            d.push_ref(&pkt.as_packet_ref())
        } else {
            d.push(&pkt)
        };
        while let Some(f) = d.pull() {
            assert!(!f.payload.is_empty());
            assert_eq!(f.payload.chunks().map(<[u8]>::len).sum::<usize>(), f.payload.len());
        }
    }
    d.flush();
    while d.pull().is_some() {}
}
