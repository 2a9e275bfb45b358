//! The shopper and enrollment records the calls return: [`Account`], [`Hand`],
//! [`EnrollmentStatus`], [`ConsentInfo`], [`EnrollmentInfo`].

/// The signed-in shopper.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Account {
    /// The service's account id.
    pub account_id: String,
    /// Login email.
    pub email: String,
    /// Name to greet the shopper with.
    pub display_name: String,
}

/// Which hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Hand {
    /// The shopper's left hand.
    Left,
    /// The shopper's right hand.
    Right,
}

impl From<Hand> for palmkit_core::protocol::Hand {
    fn from(h: Hand) -> Self {
        match h {
            Hand::Left => Self::Left,
            Hand::Right => Self::Right,
        }
    }
}

impl From<palmkit_core::protocol::Hand> for Hand {
    fn from(h: palmkit_core::protocol::Hand) -> Self {
        match h {
            palmkit_core::protocol::Hand::Left => Self::Left,
            palmkit_core::protocol::Hand::Right => Self::Right,
        }
    }
}

/// Where an enrollment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum EnrollmentStatus {
    /// Made; captures not yet submitted.
    Draft,
    /// Submitted; completes at the first in-store palm match.
    PendingStoreMatch,
    /// Matched in store: pay by palm works.
    Complete,
    /// Not matched in store in time; its biometric data is gone: enroll again.
    Expired,
}

/// A biometric consent as the service recorded it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ConsentInfo {
    /// The version of the consent text the shopper agreed to.
    pub text_version: String,
    /// When it was first given, RFC 3339 UTC.
    pub given_at: String,
}

/// An enrollment as the service knows it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentInfo {
    /// Its id.
    pub id: String,
    /// Where it is.
    pub status: EnrollmentStatus,
    /// The hands enrolled.
    pub hands: Vec<Hand>,
}

impl From<palmkit_core::protocol::Enrollment> for EnrollmentInfo {
    fn from(e: palmkit_core::protocol::Enrollment) -> Self {
        use palmkit_core::protocol::EnrollmentState as S;
        Self {
            id: e.id,
            status: match e.state {
                S::Draft => EnrollmentStatus::Draft,
                S::PendingStoreMatch => EnrollmentStatus::PendingStoreMatch,
                S::Complete => EnrollmentStatus::Complete,
                S::Expired => EnrollmentStatus::Expired,
            },
            hands: e.hands.into_iter().map(Into::into).collect(),
        }
    }
}
