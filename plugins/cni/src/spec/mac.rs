//! Hardware addresses as netconfs, CNI_ARGS and results spell them
//! (`aa:bb:cc:dd:ee:ff`, as Go's `net.HardwareAddr` prints): text only, so
//! the spec layer can check a MAC without reaching into the kernel layer.

/// Formats a hardware address the way Go's `net.HardwareAddr` does.
pub fn format_mac(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with dashes) into six bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = text.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_round_trip() {
        let mac = parse_mac("0A:58:0a:16:00:02").unwrap();
        assert_eq!(format_mac(&mac), "0a:58:0a:16:00:02");
        assert_eq!(parse_mac("0a-58-0a-16-00-02"), Some(mac));
        assert_eq!(parse_mac("0a:58:0a:16:00"), None);
        assert_eq!(parse_mac("0a:58:0a:16:00:zz"), None);
        assert_eq!(parse_mac("0a:58:0a:16:00:002"), None);
    }
}
