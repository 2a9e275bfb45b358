//! Card details typed by the shopper, checked before anything is sent: Luhn, brand from the
//! number range, expiry in the future, CVC length for the brand, a cardholder name.
//!
//! The number and CVC live in zeroizing buffers, and nothing here prints them: `Debug`
//! shows only the brand and the last four digits.

use zeroize::Zeroizing;

/// Card brands the provider accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Brand {
    /// Visa: 4…, 13/16/19 digits.
    Visa,
    /// Mastercard: 51–55, 2221–2720; 16 digits.
    Mastercard,
    /// American Express: 34, 37; 15 digits, 4-digit CVC.
    Amex,
    /// Discover: 6011, 644–649, 65; 16–19 digits.
    Discover,
}

impl Brand {
    /// The provider's name for the brand.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Mastercard => "mastercard",
            Self::Amex => "amex",
            Self::Discover => "discover",
        }
    }

    /// The brand a number belongs to, from its leading digits.
    pub fn of(digits: &str) -> Option<Self> {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        if digits.starts_with('4') {
            return Some(Self::Visa);
        }
        if matches!(prefix(2), Some(34 | 37)) {
            return Some(Self::Amex);
        }
        if matches!(prefix(2), Some(51..=55)) || matches!(prefix(4), Some(2221..=2720)) {
            return Some(Self::Mastercard);
        }
        if prefix(4) == Some(6011) || matches!(prefix(3), Some(644..=649)) || prefix(2) == Some(65)
        {
            return Some(Self::Discover);
        }
        None
    }

    fn lengths(self) -> &'static [usize] {
        match self {
            Self::Visa => &[13, 16, 19],
            Self::Mastercard => &[16],
            Self::Amex => &[15],
            Self::Discover => &[16, 17, 18, 19],
        }
    }

    fn cvc_length(self) -> usize {
        if self == Self::Amex { 4 } else { 3 }
    }
}

/// What is wrong with the card, in words fit to show the shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not a card number (letters, wrong length, checksum).
    #[error("the card number is not valid; check the digits")]
    InvalidNumber,
    /// A number of a brand we do not take.
    #[error("this card brand is not accepted")]
    UnknownBrand,
    /// Month not 1–12.
    #[error("the expiry month must be between 1 and 12")]
    InvalidExpiry,
    /// In the past.
    #[error("the card has expired")]
    Expired,
    /// Wrong number of CVC digits for the brand.
    #[error("the security code must be {0} digits for this card")]
    InvalidCvc(usize),
    /// Empty name.
    #[error("enter the name on the card")]
    MissingName,
}

/// Card details as typed, before validation.
pub struct CardInput {
    /// The number; spaces and dashes are allowed.
    pub number: Zeroizing<String>,
    /// Expiry month, 1–12.
    pub exp_month: u32,
    /// Expiry year, four digits (two digits are read as 20YY).
    pub exp_year: u32,
    /// Security code.
    pub cvc: Zeroizing<String>,
    /// Name on the card.
    pub cardholder_name: String,
}

/// A card that passed every check.
pub struct ValidCard {
    pub(crate) digits: Zeroizing<String>,
    pub(crate) cvc: Zeroizing<String>,
    /// The brand.
    pub brand: Brand,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year (four digits).
    pub exp_year: u32,
    /// Name on the card.
    pub cardholder_name: String,
}

impl std::fmt::Debug for ValidCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValidCard({} ****{})", self.brand.as_str(), self.last4())
    }
}

impl ValidCard {
    /// The last four digits (what may be shown and stored).
    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }
}

/// Luhn checksum (ISO/IEC 7812-1) over ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Checks a card as of `(year, month)` today.
pub fn validate(input: CardInput, today: (u32, u32)) -> Result<ValidCard, CardError> {
    let digits: Zeroizing<String> = Zeroizing::new(
        input
            .number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect(),
    );
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !(12..=19).contains(&digits.len())
    {
        return Err(CardError::InvalidNumber);
    }
    let brand = Brand::of(&digits).ok_or(CardError::UnknownBrand)?;
    if !brand.lengths().contains(&digits.len()) || !luhn_valid(&digits) {
        return Err(CardError::InvalidNumber);
    }
    if !(1..=12).contains(&input.exp_month) {
        return Err(CardError::InvalidExpiry);
    }
    let exp_year = if input.exp_year < 100 {
        2000 + input.exp_year
    } else {
        input.exp_year
    };
    // A card is valid through the last day of its expiry month.
    if (exp_year, input.exp_month) < today {
        return Err(CardError::Expired);
    }
    let cvc = Zeroizing::new(input.cvc.trim().to_string());
    if cvc.len() != brand.cvc_length() || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardError::InvalidCvc(brand.cvc_length()));
    }
    let cardholder_name = input.cardholder_name.trim().to_string();
    if cardholder_name.is_empty() {
        return Err(CardError::MissingName);
    }
    Ok(ValidCard {
        digits,
        cvc,
        brand,
        exp_month: input.exp_month,
        exp_year,
        cardholder_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, month: u32, year: u32, cvc: &str, name: &str) -> CardInput {
        CardInput {
            number: Zeroizing::new(number.into()),
            exp_month: month,
            exp_year: year,
            cvc: Zeroizing::new(cvc.into()),
            cardholder_name: name.into(),
        }
    }

    const TODAY: (u32, u32) = (2026, 11);

    #[test]
    fn good_cards_of_each_brand() {
        for (number, brand, cvc) in [
            ("4242 4242 4242 4242", Brand::Visa, "123"),
            ("5555-5555-5555-4444", Brand::Mastercard, "123"),
            ("2223003122003222", Brand::Mastercard, "123"),
            ("378282246310005", Brand::Amex, "1234"),
            ("6011111111111117", Brand::Discover, "123"),
        ] {
            let v = validate(card(number, 12, 2030, cvc, "A Shopper"), TODAY).unwrap();
            assert_eq!(v.brand, brand, "{number}");
            assert_eq!(
                v.last4(),
                &number.replace([' ', '-'], "")[number.replace([' ', '-'], "").len() - 4..]
            );
        }
    }

    #[test]
    fn each_bad_input_has_its_error() {
        let cases = [
            (
                card("4242424242424241", 12, 2030, "123", "A"),
                CardError::InvalidNumber,
            ),
            (
                card("4242abcd42424242", 12, 2030, "123", "A"),
                CardError::InvalidNumber,
            ),
            (card("", 12, 2030, "123", "A"), CardError::InvalidNumber),
            (
                card("9999999999999995", 12, 2030, "123", "A"),
                CardError::UnknownBrand,
            ),
            (
                card("4242424242424242", 13, 2030, "123", "A"),
                CardError::InvalidExpiry,
            ),
            (
                card("4242424242424242", 10, 2026, "123", "A"),
                CardError::Expired,
            ),
            (
                card("4242424242424242", 12, 2030, "1234", "A"),
                CardError::InvalidCvc(3),
            ),
            (
                card("378282246310005", 12, 2030, "123", "A"),
                CardError::InvalidCvc(4),
            ),
            (
                card("4242424242424242", 12, 2030, "123", "  "),
                CardError::MissingName,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(validate(input, TODAY).unwrap_err(), want);
        }
        // This month is still valid; two-digit years are 20YY.
        assert!(validate(card("4242424242424242", 11, 26, "123", "A"), TODAY).is_ok());
    }

    #[test]
    fn debug_never_shows_the_number() {
        let v = validate(card("4242424242424242", 12, 2030, "123", "A"), TODAY).unwrap();
        let text = format!("{v:?}");
        assert!(!text.contains("424242424242"), "{text}");
        assert!(text.contains("4242"));
    }
}

/// Today's `(year, month)` in UTC, for the expiry check.
pub fn current_year_month() -> (u32, u32) {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    year_month_of_day(days)
}

/// `(year, month)` of a day count since 1970-01-01 (H. Hinnant's civil-from-days).
fn year_month_of_day(days: i64) -> (u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32)
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::year_month_of_day(0), (1970, 1));
        assert_eq!(super::year_month_of_day(20_454), (2026, 1)); // 2026-01-01
        assert_eq!(super::year_month_of_day(20_453), (2025, 12));
        assert_eq!(super::year_month_of_day(11_016), (2000, 2)); // 2000-02-29
    }
}
