//! A brand's theme as Okta's Brands and Themes API describes it (issue 13, item 7): two colours,
//! the touch-point variants, and the text colours that read on each brand colour.
//!
//! Like Okta, no colour is refused: the `*ContrastHex` colours are computed so text on the brand
//! colour meets WCAG 2.x AA (contrast ratio at least 4.5:1). Black or white always does: the
//! better of the two has a ratio of at least 4.58 on any colour.

/// `#rrggbb`, stored and shown in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexColor([u8; 3]);

impl HexColor {
    pub const BLACK: Self = Self([0, 0, 0]);
    pub const WHITE: Self = Self([255, 255, 255]);

    /// `#rrggbb` or `#rgb`, any case.
    pub fn parse(value: &str) -> Result<Self, String> {
        let hex = value.strip_prefix('#').ok_or_else(|| format!("{value:?} is not a colour of the form #rrggbb"))?;
        let digits: Vec<u8> = hex
            .chars()
            .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("{value:?} is not a colour of the form #rrggbb"))?;
        match digits.as_slice() {
            [r, g, b] => Ok(Self([r * 17, g * 17, b * 17])),
            [r1, r2, g1, g2, b1, b2] => Ok(Self([r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2])),
            _ => Err(format!("{value:?} is not a colour of the form #rrggbb")),
        }
    }

    pub fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// WCAG 2.x relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let s = f64::from(c) / 255.0;
            if s <= 0.039_28 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// WCAG 2.x contrast ratio, 1 to 21.
    pub fn contrast(self, other: Self) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// The text colour for this background: black or white, whichever contrasts more.
    pub fn contrast_text(self) -> Self {
        if self.contrast(Self::BLACK) >= self.contrast(Self::WHITE) {
            Self::BLACK
        } else {
            Self::WHITE
        }
    }

    /// Whether text of this colour reads on `background` at WCAG AA (4.5:1).
    pub fn reads_on(self, background: Self) -> bool {
        self.contrast(background) >= 4.5
    }
}

/// The values Okta accepts for each touch point of a theme.
pub mod variants {
    pub const SIGN_IN_PAGE: &[&str] = &["OKTA_DEFAULT", "BACKGROUND_SECONDARY_COLOR", "BACKGROUND_IMAGE"];
    pub const END_USER_DASHBOARD: &[&str] = &["OKTA_DEFAULT", "WHITE_LOGO_BACKGROUND", "FULL_THEME", "LOGO_ON_FULL_WHITE_BACKGROUND"];
    pub const ERROR_PAGE: &[&str] = &["OKTA_DEFAULT", "BACKGROUND_SECONDARY_COLOR", "BACKGROUND_IMAGE"];
    pub const EMAIL_TEMPLATE: &[&str] = &["OKTA_DEFAULT", "FULL_THEME"];
    pub const LOADING_PAGE: &[&str] = &["OKTA_DEFAULT", "NONE"];
}

/// The image kinds a logo or favicon may be. SVG is refused: it can carry script, and a
/// sanitizer we would have to trust is not worth a logo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
}

impl ImageType {
    /// The type the bytes themselves say (their signature), whatever the upload claimed.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/png" => Some(Self::Png),
            "image/jpeg" => Some(Self::Jpeg),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_both_forms_and_print_in_lower_case() {
        assert_eq!(HexColor::parse("#1D5BD6").map(HexColor::hex), Ok("#1d5bd6".to_owned()));
        assert_eq!(HexColor::parse("#fa0").map(HexColor::hex), Ok("#ffaa00".to_owned()));
        for bad in ["1d5bd6", "#12345", "#gggggg", "", "#", "red"] {
            assert!(HexColor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_contrast_text_meets_aa_on_every_colour() {
        for r in (0..=255).step_by(15) {
            for g in (0..=255).step_by(15) {
                for b in (0..=255).step_by(15) {
                    let colour = HexColor([r, g, b]);
                    assert!(colour.contrast_text().reads_on(colour), "{}", colour.hex());
                }
            }
        }
        assert_eq!(HexColor::parse("#ffff00").map(HexColor::contrast_text), Ok(HexColor::BLACK));
        assert_eq!(HexColor::parse("#1d5bd6").map(HexColor::contrast_text), Ok(HexColor::WHITE));
        assert!((HexColor::BLACK.contrast(HexColor::WHITE) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn images_are_known_by_their_signature_and_svg_is_not_one() {
        assert_eq!(ImageType::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(ImageType::Png));
        assert_eq!(ImageType::sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(ImageType::Jpeg));
        assert_eq!(ImageType::sniff(b"<svg onload=alert(1)>"), None);
    }
}
