//! The GS1 Barcode Syntax Dictionary linters: one pure function per linter name in the dictionary's
//! specification column (`csum`, `yymmd0`, `iso3166`, `couponcode`, …), each checking one AI
//! component's data.
//!
//! The behaviour mirrors the GS1 Syntax Engine reference linters: the same checks in the same order,
//! the same error kinds ([`LintCode`], named as the reference's `GS1_LINTER_*` codes) and the same
//! highlighted span ([`LintError::position`] and [`LintError::len`], byte offsets in the linted data).
//! Linters that need a two-digit year window take `today`; nothing here reads the clock.
//!
//! The code lists (ISO 3166 numeric and alpha-2, ISO 4217 numeric, UN/ECE Recommendation 21 package
//! types with the GS1 additions, AIDC media types) are the ones the GS1 reference linters use; the
//! ISO lists were cross-checked against the ISO 3166-1 and ISO 4217 tables. ISO 4217 keeps `975` (BGN)
//! because labels printed before Bulgaria's change to the euro still carry it.
//!
//! GS1 Company Prefix look-ups (`gcppos1`, `gcppos2`, `key`, `keyoff1`) check only the form of the
//! prefix (at least four digits); there is no prefix database on a handheld.

use chrono::NaiveDate;

use crate::ids::{is_cset82, resolve_two_digit_year};

/// What a linter found wrong. The names follow the reference's `GS1_LINTER_*` return codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LintCode {
    NonDigitCharacter,
    InvalidCset82Character,
    InvalidCset39Character,
    InvalidCset64Character,
    InvalidCset64Padding,
    IncorrectCheckDigit,
    TooShortForCheckDigit,
    IncorrectCheckPair,
    TooShortForCheckPair,
    TooLongForCheckPairImplementation,
    TooShortForGcp,
    InvalidGcpPrefix,
    ImporterIdxMustBeOneCharacter,
    InvalidImportIdxCharacter,
    IllegalZeroValue,
    NotZero,
    IllegalZeroPrefix,
    NotZeroOrOne,
    InvalidWindingDirection,
    NotIso3166,
    NotIso3166Or999,
    NotIso3166Alpha2,
    NotIso4217,
    IbanTooShort,
    IbanTooLong,
    InvalidIbanCharacter,
    IllegalIbanCountryCode,
    IncorrectIbanChecksum,
    DateTooShort,
    DateTooLong,
    DateWithHourTooShort,
    DateWithHourTooLong,
    HourTooShort,
    HourTooLong,
    MinuteTooShort,
    MinuteTooLong,
    SecondTooShort,
    SecondTooLong,
    HourWithMinuteTooShort,
    HourWithMinuteTooLong,
    MmssInvalidLength,
    IllegalMonth,
    IllegalDay,
    IllegalHour,
    IllegalMinute,
    IllegalSecond,
    InvalidLengthForPieceOfTotal,
    ZeroPieceNumber,
    ZeroTotalPieces,
    PieceNumberExceedsTotal,
    PositionInSequenceMalformed,
    PositionExceedsEnd,
    InvalidPercentSequence,
    InvalidBiologicalSexCode,
    InvalidMediaType,
    InvalidPackageType,
    LatitudeInvalidLength,
    LongitudeInvalidLength,
    InvalidLatitude,
    InvalidLongitude,
    NotHyphen,
    RequiresNonDigitCharacter,
    CouponMissingFormatCode,
    CouponInvalidFormatCode,
    CouponMissingFunderVli,
    CouponInvalidFunderLength,
    CouponTruncatedFunder,
    CouponTruncatedOfferCode,
    CouponMissingSerialNumberVli,
    CouponTruncatedSerialNumber,
    CouponMissingGcpVli,
    CouponInvalidGcpLength,
    CouponTruncatedGcp,
    CouponMissingSaveValueVli,
    CouponInvalidSaveValueLength,
    CouponTruncatedSaveValue,
    CouponMissing1stPurchaseRequirementVli,
    CouponInvalid1stPurchaseRequirementLength,
    CouponTruncated1stPurchaseRequirement,
    CouponMissing1stPurchaseRequirementCode,
    CouponInvalid1stPurchaseRequirementCode,
    CouponTruncated1stPurchaseFamilyCode,
    CouponMissingAdditionalPurchaseRulesCode,
    CouponInvalidAdditionalPurchaseRulesCode,
    CouponMissing2ndPurchaseRequirementVli,
    CouponInvalid2ndPurchaseRequirementLength,
    CouponTruncated2ndPurchaseRequirement,
    CouponMissing2ndPurchaseRequirementCode,
    CouponInvalid2ndPurchaseRequirementCode,
    CouponTruncated2ndPurchaseFamilyCode,
    CouponMissing2ndPurchaseGcpVli,
    CouponInvalid2ndPurchaseGcpLength,
    CouponTruncated2ndPurchaseGcp,
    CouponMissing3rdPurchaseRequirementVli,
    CouponInvalid3rdPurchaseRequirementLength,
    CouponTruncated3rdPurchaseRequirement,
    CouponMissing3rdPurchaseRequirementCode,
    CouponInvalid3rdPurchaseRequirementCode,
    CouponTruncated3rdPurchaseFamilyCode,
    CouponMissing3rdPurchaseGcpVli,
    CouponInvalid3rdPurchaseGcpLength,
    CouponTruncated3rdPurchaseGcp,
    CouponTooShortForExpirationDate,
    CouponInvalidExpirationDate,
    CouponTooShortForStartDate,
    CouponInvalidStartDate,
    CouponExpirationBeforeStart,
    CouponMissingRetailerGcpOrGlnVli,
    CouponInvalidRetailerGcpOrGlnLength,
    CouponTruncatedRetailerGcpOrGln,
    CouponMissingSaveValueCode,
    CouponInvalidSaveValueCode,
    CouponMissingSaveValueAppliesToItem,
    CouponInvalidSaveValueAppliesToItem,
    CouponMissingStoreCouponFlag,
    CouponMissingDontMultiplyFlag,
    CouponInvalidDontMultiplyFlag,
    CouponExcessData,
}

impl LintCode {
    /// The reference name without its `GS1_LINTER_` prefix, e.g. `NON_DIGIT_CHARACTER` (the
    /// reference spells `COUPON_INVALID_EXIPIRATION_DATE` so; kept for comparison).
    pub fn name(self) -> &'static str {
        match self {
            LintCode::NonDigitCharacter => "NON_DIGIT_CHARACTER",
            LintCode::InvalidCset82Character => "INVALID_CSET82_CHARACTER",
            LintCode::InvalidCset39Character => "INVALID_CSET39_CHARACTER",
            LintCode::InvalidCset64Character => "INVALID_CSET64_CHARACTER",
            LintCode::InvalidCset64Padding => "INVALID_CSET64_PADDING",
            LintCode::IncorrectCheckDigit => "INCORRECT_CHECK_DIGIT",
            LintCode::TooShortForCheckDigit => "TOO_SHORT_FOR_CHECK_DIGIT",
            LintCode::IncorrectCheckPair => "INCORRECT_CHECK_PAIR",
            LintCode::TooShortForCheckPair => "TOO_SHORT_FOR_CHECK_PAIR",
            LintCode::TooLongForCheckPairImplementation => "TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION",
            LintCode::TooShortForGcp => "TOO_SHORT_FOR_GCP",
            LintCode::InvalidGcpPrefix => "INVALID_GCP_PREFIX",
            LintCode::ImporterIdxMustBeOneCharacter => "IMPORTER_IDX_MUST_BE_ONE_CHARACTER",
            LintCode::InvalidImportIdxCharacter => "INVALID_IMPORT_IDX_CHARACTER",
            LintCode::IllegalZeroValue => "ILLEGAL_ZERO_VALUE",
            LintCode::NotZero => "NOT_ZERO",
            LintCode::IllegalZeroPrefix => "ILLEGAL_ZERO_PREFIX",
            LintCode::NotZeroOrOne => "NOT_ZERO_OR_ONE",
            LintCode::InvalidWindingDirection => "INVALID_WINDING_DIRECTION",
            LintCode::NotIso3166 => "NOT_ISO3166",
            LintCode::NotIso3166Or999 => "NOT_ISO3166_OR_999",
            LintCode::NotIso3166Alpha2 => "NOT_ISO3166_ALPHA2",
            LintCode::NotIso4217 => "NOT_ISO4217",
            LintCode::IbanTooShort => "IBAN_TOO_SHORT",
            LintCode::IbanTooLong => "IBAN_TOO_LONG",
            LintCode::InvalidIbanCharacter => "INVALID_IBAN_CHARACTER",
            LintCode::IllegalIbanCountryCode => "ILLEGAL_IBAN_COUNTRY_CODE",
            LintCode::IncorrectIbanChecksum => "INCORRECT_IBAN_CHECKSUM",
            LintCode::DateTooShort => "DATE_TOO_SHORT",
            LintCode::DateTooLong => "DATE_TOO_LONG",
            LintCode::DateWithHourTooShort => "DATE_WITH_HOUR_TOO_SHORT",
            LintCode::DateWithHourTooLong => "DATE_WITH_HOUR_TOO_LONG",
            LintCode::HourTooShort => "HOUR_TOO_SHORT",
            LintCode::HourTooLong => "HOUR_TOO_LONG",
            LintCode::MinuteTooShort => "MINUTE_TOO_SHORT",
            LintCode::MinuteTooLong => "MINUTE_TOO_LONG",
            LintCode::SecondTooShort => "SECOND_TOO_SHORT",
            LintCode::SecondTooLong => "SECOND_TOO_LONG",
            LintCode::HourWithMinuteTooShort => "HOUR_WITH_MINUTE_TOO_SHORT",
            LintCode::HourWithMinuteTooLong => "HOUR_WITH_MINUTE_TOO_LONG",
            LintCode::MmssInvalidLength => "MMSS_INVALID_LENGTH",
            LintCode::IllegalMonth => "ILLEGAL_MONTH",
            LintCode::IllegalDay => "ILLEGAL_DAY",
            LintCode::IllegalHour => "ILLEGAL_HOUR",
            LintCode::IllegalMinute => "ILLEGAL_MINUTE",
            LintCode::IllegalSecond => "ILLEGAL_SECOND",
            LintCode::InvalidLengthForPieceOfTotal => "INVALID_LENGTH_FOR_PIECE_OF_TOTAL",
            LintCode::ZeroPieceNumber => "ZERO_PIECE_NUMBER",
            LintCode::ZeroTotalPieces => "ZERO_TOTAL_PIECES",
            LintCode::PieceNumberExceedsTotal => "PIECE_NUMBER_EXCEEDS_TOTAL",
            LintCode::PositionInSequenceMalformed => "POSITION_IN_SEQUENCE_MALFORMED",
            LintCode::PositionExceedsEnd => "POSITION_EXCEEDS_END",
            LintCode::InvalidPercentSequence => "INVALID_PERCENT_SEQUENCE",
            LintCode::InvalidBiologicalSexCode => "INVALID_BIOLOGICAL_SEX_CODE",
            LintCode::InvalidMediaType => "INVALID_MEDIA_TYPE",
            LintCode::InvalidPackageType => "INVALID_PACKAGE_TYPE",
            LintCode::LatitudeInvalidLength => "LATITUDE_INVALID_LENGTH",
            LintCode::LongitudeInvalidLength => "LONGITUDE_INVALID_LENGTH",
            LintCode::InvalidLatitude => "INVALID_LATITUDE",
            LintCode::InvalidLongitude => "INVALID_LONGITUDE",
            LintCode::NotHyphen => "NOT_HYPHEN",
            LintCode::RequiresNonDigitCharacter => "REQUIRES_NON_DIGIT_CHARACTER",
            LintCode::CouponMissingFormatCode => "COUPON_MISSING_FORMAT_CODE",
            LintCode::CouponInvalidFormatCode => "COUPON_INVALID_FORMAT_CODE",
            LintCode::CouponMissingFunderVli => "COUPON_MISSING_FUNDER_VLI",
            LintCode::CouponInvalidFunderLength => "COUPON_INVALID_FUNDER_LENGTH",
            LintCode::CouponTruncatedFunder => "COUPON_TRUNCATED_FUNDER",
            LintCode::CouponTruncatedOfferCode => "COUPON_TRUNCATED_OFFER_CODE",
            LintCode::CouponMissingSerialNumberVli => "COUPON_MISSING_SERIAL_NUMBER_VLI",
            LintCode::CouponTruncatedSerialNumber => "COUPON_TRUNCATED_SERIAL_NUMBER",
            LintCode::CouponMissingGcpVli => "COUPON_MISSING_GCP_VLI",
            LintCode::CouponInvalidGcpLength => "COUPON_INVALID_GCP_LENGTH",
            LintCode::CouponTruncatedGcp => "COUPON_TRUNCATED_GCP",
            LintCode::CouponMissingSaveValueVli => "COUPON_MISSING_SAVE_VALUE_VLI",
            LintCode::CouponInvalidSaveValueLength => "COUPON_INVALID_SAVE_VALUE_LENGTH",
            LintCode::CouponTruncatedSaveValue => "COUPON_TRUNCATED_SAVE_VALUE",
            LintCode::CouponMissing1stPurchaseRequirementVli => "COUPON_MISSING_1ST_PURCHASE_REQUIREMENT_VLI",
            LintCode::CouponInvalid1stPurchaseRequirementLength => "COUPON_INVALID_1ST_PURCHASE_REQUIREMENT_LENGTH",
            LintCode::CouponTruncated1stPurchaseRequirement => "COUPON_TRUNCATED_1ST_PURCHASE_REQUIREMENT",
            LintCode::CouponMissing1stPurchaseRequirementCode => "COUPON_MISSING_1ST_PURCHASE_REQUIREMENT_CODE",
            LintCode::CouponInvalid1stPurchaseRequirementCode => "COUPON_INVALID_1ST_PURCHASE_REQUIREMENT_CODE",
            LintCode::CouponTruncated1stPurchaseFamilyCode => "COUPON_TRUNCATED_1ST_PURCHASE_FAMILY_CODE",
            LintCode::CouponMissingAdditionalPurchaseRulesCode => "COUPON_MISSING_ADDITIONAL_PURCHASE_RULES_CODE",
            LintCode::CouponInvalidAdditionalPurchaseRulesCode => "COUPON_INVALID_ADDITIONAL_PURCHASE_RULES_CODE",
            LintCode::CouponMissing2ndPurchaseRequirementVli => "COUPON_MISSING_2ND_PURCHASE_REQUIREMENT_VLI",
            LintCode::CouponInvalid2ndPurchaseRequirementLength => "COUPON_INVALID_2ND_PURCHASE_REQUIREMENT_LENGTH",
            LintCode::CouponTruncated2ndPurchaseRequirement => "COUPON_TRUNCATED_2ND_PURCHASE_REQUIREMENT",
            LintCode::CouponMissing2ndPurchaseRequirementCode => "COUPON_MISSING_2ND_PURCHASE_REQUIREMENT_CODE",
            LintCode::CouponInvalid2ndPurchaseRequirementCode => "COUPON_INVALID_2ND_PURCHASE_REQUIREMENT_CODE",
            LintCode::CouponTruncated2ndPurchaseFamilyCode => "COUPON_TRUNCATED_2ND_PURCHASE_FAMILY_CODE",
            LintCode::CouponMissing2ndPurchaseGcpVli => "COUPON_MISSING_2ND_PURCHASE_GCP_VLI",
            LintCode::CouponInvalid2ndPurchaseGcpLength => "COUPON_INVALID_2ND_PURCHASE_GCP_LENGTH",
            LintCode::CouponTruncated2ndPurchaseGcp => "COUPON_TRUNCATED_2ND_PURCHASE_GCP",
            LintCode::CouponMissing3rdPurchaseRequirementVli => "COUPON_MISSING_3RD_PURCHASE_REQUIREMENT_VLI",
            LintCode::CouponInvalid3rdPurchaseRequirementLength => "COUPON_INVALID_3RD_PURCHASE_REQUIREMENT_LENGTH",
            LintCode::CouponTruncated3rdPurchaseRequirement => "COUPON_TRUNCATED_3RD_PURCHASE_REQUIREMENT",
            LintCode::CouponMissing3rdPurchaseRequirementCode => "COUPON_MISSING_3RD_PURCHASE_REQUIREMENT_CODE",
            LintCode::CouponInvalid3rdPurchaseRequirementCode => "COUPON_INVALID_3RD_PURCHASE_REQUIREMENT_CODE",
            LintCode::CouponTruncated3rdPurchaseFamilyCode => "COUPON_TRUNCATED_3RD_PURCHASE_FAMILY_CODE",
            LintCode::CouponMissing3rdPurchaseGcpVli => "COUPON_MISSING_3RD_PURCHASE_GCP_VLI",
            LintCode::CouponInvalid3rdPurchaseGcpLength => "COUPON_INVALID_3RD_PURCHASE_GCP_LENGTH",
            LintCode::CouponTruncated3rdPurchaseGcp => "COUPON_TRUNCATED_3RD_PURCHASE_GCP",
            LintCode::CouponTooShortForExpirationDate => "COUPON_TOO_SHORT_FOR_EXPIRATION_DATE",
            LintCode::CouponInvalidExpirationDate => "COUPON_INVALID_EXIPIRATION_DATE",
            LintCode::CouponTooShortForStartDate => "COUPON_TOO_SHORT_FOR_START_DATE",
            LintCode::CouponInvalidStartDate => "COUPON_INVALID_START_DATE",
            LintCode::CouponExpirationBeforeStart => "COUPON_EXPIRATION_BEFORE_START",
            LintCode::CouponMissingRetailerGcpOrGlnVli => "COUPON_MISSING_RETAILER_GCP_OR_GLN_VLI",
            LintCode::CouponInvalidRetailerGcpOrGlnLength => "COUPON_INVALID_RETAILER_GCP_OR_GLN_LENGTH",
            LintCode::CouponTruncatedRetailerGcpOrGln => "COUPON_TRUNCATED_RETAILER_GCP_OR_GLN",
            LintCode::CouponMissingSaveValueCode => "COUPON_MISSING_SAVE_VALUE_CODE",
            LintCode::CouponInvalidSaveValueCode => "COUPON_INVALID_SAVE_VALUE_CODE",
            LintCode::CouponMissingSaveValueAppliesToItem => "COUPON_MISSING_SAVE_VALUE_APPLIES_TO_ITEM",
            LintCode::CouponInvalidSaveValueAppliesToItem => "COUPON_INVALID_SAVE_VALUE_APPLIES_TO_ITEM",
            LintCode::CouponMissingStoreCouponFlag => "COUPON_MISSING_STORE_COUPON_FLAG",
            LintCode::CouponMissingDontMultiplyFlag => "COUPON_MISSING_DONT_MULTIPLY_FLAG",
            LintCode::CouponInvalidDontMultiplyFlag => "COUPON_INVALID_DONT_MULTIPLY_FLAG",
            LintCode::CouponExcessData => "COUPON_EXCESS_DATA",
        }
    }

    /// What is wrong, in plain English, for messages: "the check digit is wrong".
    pub fn meaning(self) -> &'static str {
        match self {
            LintCode::NonDigitCharacter => "only digits are allowed here",
            LintCode::InvalidCset82Character => "only GS1 character set 82 is allowed",
            LintCode::InvalidCset39Character => "only upper-case letters, digits and # - / are allowed",
            LintCode::InvalidCset64Character => "only base64url characters are allowed",
            LintCode::InvalidCset64Padding => "the '=' padding at the end is wrong",
            LintCode::IncorrectCheckDigit => "the check digit is wrong",
            LintCode::TooShortForCheckDigit => "it is too short to carry a check digit",
            LintCode::IncorrectCheckPair => "the two check characters are wrong",
            LintCode::TooShortForCheckPair => "it is too short to carry two check characters",
            LintCode::TooLongForCheckPairImplementation => "it is too long for the check-character calculation",
            LintCode::TooShortForGcp => "it is too short to start with a GS1 Company Prefix",
            LintCode::InvalidGcpPrefix => "it does not start with a GS1 Company Prefix",
            LintCode::ImporterIdxMustBeOneCharacter => "the importer index must be one character",
            LintCode::InvalidImportIdxCharacter => "the importer index must be a letter, a digit, - or _",
            LintCode::IllegalZeroValue => "the value must not be zero",
            LintCode::NotZero => "the value must be zero",
            LintCode::IllegalZeroPrefix => "a leading zero is not allowed",
            LintCode::NotZeroOrOne => "the value must be 0 (no) or 1 (yes)",
            LintCode::InvalidWindingDirection => "the winding direction must be 0, 1 or 9",
            LintCode::NotIso3166 => "it is not an ISO 3166 three-digit country code",
            LintCode::NotIso3166Or999 => "it is not an ISO 3166 three-digit country code or 999",
            LintCode::NotIso3166Alpha2 => "it is not an ISO 3166 two-letter country code",
            LintCode::NotIso4217 => "it is not an ISO 4217 three-digit currency code",
            LintCode::IbanTooShort => "the IBAN is too short",
            LintCode::IbanTooLong => "the IBAN is too long",
            LintCode::InvalidIbanCharacter => "the IBAN has a character that is not allowed",
            LintCode::IllegalIbanCountryCode => "the IBAN does not start with a country code",
            LintCode::IncorrectIbanChecksum => "the IBAN check digits are wrong",
            LintCode::DateTooShort => "the date is too short",
            LintCode::DateTooLong => "the date is too long",
            LintCode::DateWithHourTooShort => "the date and hour are too short",
            LintCode::DateWithHourTooLong => "the date and hour are too long",
            LintCode::HourTooShort => "the hour is too short",
            LintCode::HourTooLong => "the hour is too long",
            LintCode::MinuteTooShort => "the minute is too short",
            LintCode::MinuteTooLong => "the minute is too long",
            LintCode::SecondTooShort => "the second is too short",
            LintCode::SecondTooLong => "the second is too long",
            LintCode::HourWithMinuteTooShort => "the time (HHMM) is too short",
            LintCode::HourWithMinuteTooLong => "the time (HHMM) is too long",
            LintCode::MmssInvalidLength => "minutes with optional seconds must be MM or MMSS",
            LintCode::IllegalMonth => "the month does not exist",
            LintCode::IllegalDay => "the day does not exist in that month",
            LintCode::IllegalHour => "the hour does not exist",
            LintCode::IllegalMinute => "the minute does not exist",
            LintCode::IllegalSecond => "the second does not exist",
            LintCode::InvalidLengthForPieceOfTotal => "piece and total must be two numbers of equal length",
            LintCode::ZeroPieceNumber => "the piece number must not be zero",
            LintCode::ZeroTotalPieces => "the total number of pieces must not be zero",
            LintCode::PieceNumberExceedsTotal => "the piece number is larger than the total",
            LintCode::PositionInSequenceMalformed => "the position in sequence must be written N/M",
            LintCode::PositionExceedsEnd => "the position is larger than the sequence length",
            LintCode::InvalidPercentSequence => "a '%' must be followed by two hex digits",
            LintCode::InvalidBiologicalSexCode => "the ISO 5218 sex code must be 0, 1, 2 or 9",
            LintCode::InvalidMediaType => "it is not an AIDC media type code",
            LintCode::InvalidPackageType => "it is not a package type code",
            LintCode::LatitudeInvalidLength => "the latitude must be 10 digits",
            LintCode::LongitudeInvalidLength => "the longitude must be 10 digits",
            LintCode::InvalidLatitude => "the latitude is out of range",
            LintCode::InvalidLongitude => "the longitude is out of range",
            LintCode::NotHyphen => "only '-' is allowed",
            LintCode::RequiresNonDigitCharacter => "it must contain at least one character that is not a digit",
            LintCode::CouponMissingFormatCode => "the coupon format code is missing",
            LintCode::CouponInvalidFormatCode => "the coupon format code must be 0 or 1",
            LintCode::CouponMissingFunderVli => "the coupon funder length indicator is missing",
            LintCode::CouponInvalidFunderLength => "the coupon funder length indicator must be 0 to 6",
            LintCode::CouponTruncatedFunder => "the coupon funder ID is cut short",
            LintCode::CouponTruncatedOfferCode => "the coupon offer code is cut short",
            LintCode::CouponMissingSerialNumberVli => "the coupon serial number length indicator is missing",
            LintCode::CouponTruncatedSerialNumber => "the coupon serial number is cut short",
            LintCode::CouponMissingGcpVli => "the coupon company prefix length indicator is missing",
            LintCode::CouponInvalidGcpLength => "the coupon company prefix length indicator must be 0 to 6",
            LintCode::CouponTruncatedGcp => "the coupon company prefix is cut short",
            LintCode::CouponMissingSaveValueVli => "the coupon save value length indicator is missing",
            LintCode::CouponInvalidSaveValueLength => "the coupon save value length indicator must be 1 to 5",
            LintCode::CouponTruncatedSaveValue => "the coupon save value is cut short",
            LintCode::CouponMissing1stPurchaseRequirementVli => {
                "the coupon purchase requirement length indicator is missing"
            }
            LintCode::CouponInvalid1stPurchaseRequirementLength => {
                "the coupon purchase requirement length indicator must be 1 to 5"
            }
            LintCode::CouponTruncated1stPurchaseRequirement => "the coupon purchase requirement is cut short",
            LintCode::CouponMissing1stPurchaseRequirementCode => "the coupon purchase requirement code is missing",
            LintCode::CouponInvalid1stPurchaseRequirementCode => {
                "the coupon purchase requirement code must be 0 to 4 or 9"
            }
            LintCode::CouponTruncated1stPurchaseFamilyCode => "the coupon purchase family code is cut short",
            LintCode::CouponMissingAdditionalPurchaseRulesCode => {
                "the coupon additional purchase rules code is missing"
            }
            LintCode::CouponInvalidAdditionalPurchaseRulesCode => {
                "the coupon additional purchase rules code must be 0 to 3"
            }
            LintCode::CouponMissing2ndPurchaseRequirementVli => {
                "the coupon second purchase requirement length indicator is missing"
            }
            LintCode::CouponInvalid2ndPurchaseRequirementLength => {
                "the coupon second purchase requirement length indicator must be 1 to 5"
            }
            LintCode::CouponTruncated2ndPurchaseRequirement => "the coupon second purchase requirement is cut short",
            LintCode::CouponMissing2ndPurchaseRequirementCode => {
                "the coupon second purchase requirement code is missing"
            }
            LintCode::CouponInvalid2ndPurchaseRequirementCode => {
                "the coupon second purchase requirement code must be 0 to 4 or 9"
            }
            LintCode::CouponTruncated2ndPurchaseFamilyCode => "the coupon second purchase family code is cut short",
            LintCode::CouponMissing2ndPurchaseGcpVli => {
                "the coupon second purchase company prefix length indicator is missing"
            }
            LintCode::CouponInvalid2ndPurchaseGcpLength => {
                "the coupon second purchase company prefix length indicator must be 0 to 6 or 9"
            }
            LintCode::CouponTruncated2ndPurchaseGcp => "the coupon second purchase company prefix is cut short",
            LintCode::CouponMissing3rdPurchaseRequirementVli => {
                "the coupon third purchase requirement length indicator is missing"
            }
            LintCode::CouponInvalid3rdPurchaseRequirementLength => {
                "the coupon third purchase requirement length indicator must be 1 to 5"
            }
            LintCode::CouponTruncated3rdPurchaseRequirement => "the coupon third purchase requirement is cut short",
            LintCode::CouponMissing3rdPurchaseRequirementCode => {
                "the coupon third purchase requirement code is missing"
            }
            LintCode::CouponInvalid3rdPurchaseRequirementCode => {
                "the coupon third purchase requirement code must be 0 to 4 or 9"
            }
            LintCode::CouponTruncated3rdPurchaseFamilyCode => "the coupon third purchase family code is cut short",
            LintCode::CouponMissing3rdPurchaseGcpVli => {
                "the coupon third purchase company prefix length indicator is missing"
            }
            LintCode::CouponInvalid3rdPurchaseGcpLength => {
                "the coupon third purchase company prefix length indicator must be 0 to 6 or 9"
            }
            LintCode::CouponTruncated3rdPurchaseGcp => "the coupon third purchase company prefix is cut short",
            LintCode::CouponTooShortForExpirationDate => "the coupon expiration date is cut short",
            LintCode::CouponInvalidExpirationDate => "the coupon expiration date is not a calendar date",
            LintCode::CouponTooShortForStartDate => "the coupon start date is cut short",
            LintCode::CouponInvalidStartDate => "the coupon start date is not a calendar date",
            LintCode::CouponExpirationBeforeStart => "the coupon expires before it starts",
            LintCode::CouponMissingRetailerGcpOrGlnVli => "the coupon retailer ID length indicator is missing",
            LintCode::CouponInvalidRetailerGcpOrGlnLength => "the coupon retailer ID length indicator must be 1 to 7",
            LintCode::CouponTruncatedRetailerGcpOrGln => "the coupon retailer ID is cut short",
            LintCode::CouponMissingSaveValueCode => "the coupon save value code is missing",
            LintCode::CouponInvalidSaveValueCode => "the coupon save value code must be 0, 1, 2, 5 or 6",
            LintCode::CouponMissingSaveValueAppliesToItem => "the coupon save-value-applies-to-item code is missing",
            LintCode::CouponInvalidSaveValueAppliesToItem => {
                "the coupon save-value-applies-to-item code must be 0 to 2"
            }
            LintCode::CouponMissingStoreCouponFlag => "the coupon store coupon flag is missing",
            LintCode::CouponMissingDontMultiplyFlag => "the coupon don't-multiply flag is missing",
            LintCode::CouponInvalidDontMultiplyFlag => "the coupon don't-multiply flag must be 0 or 1",
            LintCode::CouponExcessData => "the coupon has data after its last field",
        }
    }
}

/// A linter's finding: what is wrong and which bytes of the linted data show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LintError {
    pub code: LintCode,
    /// Byte offset of the offending part within the linted data.
    pub position: usize,
    /// Length in bytes of the offending part (0 when the data is empty).
    pub len: usize,
}

/// The result of one linter.
pub type LintResult = Result<(), LintError>;

fn fail(code: LintCode, position: usize, len: usize) -> LintResult {
    Err(LintError { code, position, len })
}

/// A linter as found by name: most need only the data, date linters also today's date.
#[derive(Debug, Clone, Copy)]
pub enum Linter {
    Plain(fn(&[u8]) -> LintResult),
    Dated(fn(&[u8], NaiveDate) -> LintResult),
}

impl Linter {
    /// Runs the linter on `data`; `today` is used only by date linters.
    pub fn check(self, data: &[u8], today: NaiveDate) -> LintResult {
        match self {
            Linter::Plain(f) => f(data),
            Linter::Dated(f) => f(data, today),
        }
    }
}

/// Every linter name this module knows, for the dictionary's specification column.
pub const LINTER_NAMES: [&str; 47] = [
    "couponcode",
    "couponposoffer",
    "cset39",
    "cset64",
    "cset82",
    "csetnumeric",
    "csum",
    "csumalpha",
    "gcppos1",
    "gcppos2",
    "hasnondigit",
    "hh",
    "hhmi",
    "hhmm",
    "hyphen",
    "iban",
    "importeridx",
    "iso3166",
    "iso3166999",
    "iso3166alpha2",
    "iso3166list",
    "iso4217",
    "iso5218",
    "key",
    "keyoff1",
    "latitude",
    "latlong",
    "longitude",
    "mediatype",
    "mi",
    "mm",
    "mmoptss",
    "nonzero",
    "nozeroprefix",
    "packagetype",
    "pcenc",
    "pieceoftotal",
    "posinseqslash",
    "ss",
    "winding",
    "yesno",
    "yymmd0",
    "yymmdd",
    "yymmddhh",
    "yyyymmd0",
    "yyyymmdd",
    "zero",
];

/// Looks a linter up by its dictionary name, e.g. `"csum"`.
pub fn linter(name: &str) -> Option<Linter> {
    use Linter::{Dated, Plain};
    Some(match name {
        "couponcode" => Dated(couponcode),
        "couponposoffer" => Plain(couponposoffer),
        "cset39" => Plain(cset39),
        "cset64" => Plain(cset64),
        "cset82" => Plain(cset82),
        "csetnumeric" => Plain(csetnumeric),
        "csum" => Plain(csum),
        "csumalpha" => Plain(csumalpha),
        "gcppos1" => Plain(gcppos1),
        "gcppos2" => Plain(gcppos2),
        "hasnondigit" => Plain(hasnondigit),
        "hh" => Plain(hh),
        "hhmi" => Plain(hhmi),
        "hhmm" => Plain(hhmm),
        "hyphen" => Plain(hyphen),
        "iban" => Plain(iban),
        "importeridx" => Plain(importeridx),
        "iso3166" => Plain(iso3166),
        "iso3166999" => Plain(iso3166999),
        "iso3166alpha2" => Plain(iso3166alpha2),
        "iso3166list" => Plain(iso3166list),
        "iso4217" => Plain(iso4217),
        "iso5218" => Plain(iso5218),
        "key" => Plain(key),
        "keyoff1" => Plain(keyoff1),
        "latitude" => Plain(latitude),
        "latlong" => Plain(latlong),
        "longitude" => Plain(longitude),
        "mediatype" => Plain(mediatype),
        "mi" => Plain(mi),
        "mm" => Plain(mm),
        "mmoptss" => Plain(mmoptss),
        "nonzero" => Plain(nonzero),
        "nozeroprefix" => Plain(nozeroprefix),
        "packagetype" => Plain(packagetype),
        "pcenc" => Plain(pcenc),
        "pieceoftotal" => Plain(pieceoftotal),
        "posinseqslash" => Plain(posinseqslash),
        "ss" => Plain(ss),
        "winding" => Plain(winding),
        "yesno" => Plain(yesno),
        "yymmd0" => Dated(yymmd0),
        "yymmdd" => Dated(yymmdd),
        "yymmddhh" => Dated(yymmddhh),
        "yyyymmd0" => Plain(yyyymmd0),
        "yyyymmdd" => Plain(yyyymmdd),
        "zero" => Plain(zero),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Character sets

/// First non-digit, reported as `NON_DIGIT_CHARACTER` at its offset.
fn digits_only(data: &[u8], base: usize) -> LintResult {
    match data.iter().position(|b| !b.is_ascii_digit()) {
        Some(i) => fail(LintCode::NonDigitCharacter, base + i, 1),
        None => Ok(()),
    }
}

/// `csetnumeric`: digits only (`N` components).
pub fn csetnumeric(data: &[u8]) -> LintResult {
    digits_only(data, 0)
}

/// `cset82`: GS1 AI encodable character set 82 (`X` components).
pub fn cset82(data: &[u8]) -> LintResult {
    match data.iter().position(|&b| !is_cset82(b)) {
        Some(i) => fail(LintCode::InvalidCset82Character, i, 1),
        None => Ok(()),
    }
}

/// True for GS1 character set 39: digits, upper-case letters, `#`, `-` and `/`.
pub fn is_cset39(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase() || matches!(b, b'#' | b'-' | b'/')
}

/// `cset39`: GS1 character set 39 (`Y` components).
pub fn cset39(data: &[u8]) -> LintResult {
    match data.iter().position(|&b| !is_cset39(b)) {
        Some(i) => fail(LintCode::InvalidCset39Character, i, 1),
        None => Ok(()),
    }
}

/// True for the 64 base64url characters (without the `=` padding).
pub fn is_cset64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

/// `cset64`: base64url (`Z` components); up to two `=` pad characters may end data whose padded
/// length is a multiple of three.
pub fn cset64(data: &[u8]) -> LintResult {
    let pads = data.iter().rev().take_while(|&&b| b == b'=').count();
    let len = data.len() - pads;
    if pads > 2 || (pads > 0 && !data.len().is_multiple_of(3)) {
        return fail(LintCode::InvalidCset64Padding, len, pads);
    }
    match data[..len].iter().position(|&b| !is_cset64(b)) {
        Some(i) => fail(LintCode::InvalidCset64Character, i, 1),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Check characters

/// `csum`: the GS1 mod-10 check digit in the last position.
pub fn csum(data: &[u8]) -> LintResult {
    if data.is_empty() {
        return fail(LintCode::TooShortForCheckDigit, 0, 0);
    }
    digits_only(data, 0)?;
    let last = data.len() - 1;
    let sum: u32 = data[..last]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    if (10 - sum % 10) % 10 != u32::from(data[last] - b'0') {
        return fail(LintCode::IncorrectCheckDigit, last, 1);
    }
    Ok(())
}

/// GS1 character set 82 in its defined order; a character's value is its index.
const CSET82_ORDER: &[u8; 82] = b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// GS1 character set 32, the alphabet of the check-character pair.
const CSET32: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The first 97 primes, the weights of the check-character-pair calculation.
const PRIMES: [u32; 97] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109,
    113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193, 197, 199, 211, 223, 227, 229, 233, 239,
    241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379,
    383, 389, 397, 401, 409, 419, 421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509,
];

/// `csumalpha`: the GS1 check-character pair (mod 1021 over prime weights) in the last two positions,
/// as used by GMN (8013) and MUDI (8014).
pub fn csumalpha(data: &[u8]) -> LintResult {
    if data.len() < 2 {
        return fail(LintCode::TooShortForCheckPair, 0, data.len());
    }
    let body = &data[..data.len() - 2];
    if body.len() > PRIMES.len() {
        return fail(LintCode::TooLongForCheckPairImplementation, 0, data.len());
    }
    let mut sum = 0u32;
    for (i, &b) in body.iter().enumerate() {
        let Some(v) = CSET82_ORDER.iter().position(|&c| c == b) else {
            return fail(LintCode::InvalidCset82Character, i, 1);
        };
        sum += v as u32 * PRIMES[body.len() - 1 - i];
    }
    let sum = (sum % 1021) as usize;
    let want = [CSET32[sum >> 5], CSET32[sum & 31]];
    if data[body.len()..] != want {
        return fail(LintCode::IncorrectCheckPair, body.len(), 2);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// GS1 Company Prefix and keys

/// Shortest GS1 Company Prefix.
const GCP_MIN_LENGTH: usize = 4;

/// `gcppos1`: the data starts with a GS1 Company Prefix (in form: at least four digits).
pub fn gcppos1(data: &[u8]) -> LintResult {
    gcp_at(data, 0)
}

/// `gcppos2`: a GS1 Company Prefix starts at the second character (after an indicator digit).
pub fn gcppos2(data: &[u8]) -> LintResult {
    gcp_at(data, 1)
}

/// `key`: a GS1 key starts with a GS1 Company Prefix (newer dictionaries' name for `gcppos1`).
pub fn key(data: &[u8]) -> LintResult {
    gcp_at(data, 0)
}

/// `keyoff1`: as `key`, one character in (newer dictionaries' name for `gcppos2`).
pub fn keyoff1(data: &[u8]) -> LintResult {
    gcp_at(data, 1)
}

fn gcp_at(data: &[u8], off: usize) -> LintResult {
    if data.len() <= off {
        return fail(LintCode::TooShortForGcp, 0, data.len());
    }
    let rest = &data[off..];
    if rest.len() < GCP_MIN_LENGTH {
        return fail(LintCode::TooShortForGcp, off, rest.len());
    }
    match rest[..GCP_MIN_LENGTH].iter().position(|b| !b.is_ascii_digit()) {
        Some(i) => fail(LintCode::InvalidGcpPrefix, off + i, 1),
        None => Ok(()),
    }
}

/// `importeridx`: one character of `0-9 A-Z a-z - _`.
pub fn importeridx(data: &[u8]) -> LintResult {
    if data.len() != 1 {
        return fail(LintCode::ImporterIdxMustBeOneCharacter, 0, data.len());
    }
    if !is_cset64(data[0]) {
        return fail(LintCode::InvalidImportIdxCharacter, 0, 1);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Simple values

/// `zero`: only zeros (e.g. the GRAI's leading `0` in AI 8003).
pub fn zero(data: &[u8]) -> LintResult {
    if data.is_empty() || data.iter().any(|&b| b != b'0') {
        return fail(LintCode::NotZero, 0, data.len());
    }
    Ok(())
}

/// `nonzero`: digits, not all zero.
pub fn nonzero(data: &[u8]) -> LintResult {
    digits_only(data, 0)?;
    if data.iter().all(|&b| b == b'0') {
        return fail(LintCode::IllegalZeroValue, 0, data.len());
    }
    Ok(())
}

/// `nozeroprefix`: digits without a leading zero.
pub fn nozeroprefix(data: &[u8]) -> LintResult {
    digits_only(data, 0)?;
    if data.first() == Some(&b'0') {
        return fail(LintCode::IllegalZeroPrefix, 0, 1);
    }
    Ok(())
}

/// `hasnondigit`: at least one character that is not a digit.
pub fn hasnondigit(data: &[u8]) -> LintResult {
    if data.iter().all(u8::is_ascii_digit) {
        return fail(LintCode::RequiresNonDigitCharacter, 0, data.len());
    }
    Ok(())
}

/// `hyphen`: only `-` (the "minus" flag of the temperature AIs 4330–4333).
pub fn hyphen(data: &[u8]) -> LintResult {
    if data.is_empty() || data.iter().any(|&b| b != b'-') {
        return fail(LintCode::NotHyphen, 0, data.len());
    }
    Ok(())
}

fn one_of(data: &[u8], allowed: &[u8], code: LintCode) -> LintResult {
    if data.len() != 1 || !allowed.contains(&data[0]) {
        return fail(code, 0, data.len());
    }
    Ok(())
}

/// `yesno`: `0` (no) or `1` (yes).
pub fn yesno(data: &[u8]) -> LintResult {
    one_of(data, b"01", LintCode::NotZeroOrOne)
}

/// `winding`: winding direction `0` (face out), `1` (face in) or `9` (undefined).
pub fn winding(data: &[u8]) -> LintResult {
    one_of(data, b"019", LintCode::InvalidWindingDirection)
}

/// `iso5218`: biological sex code `0` (unknown), `1` (male), `2` (female) or `9` (not applicable).
pub fn iso5218(data: &[u8]) -> LintResult {
    one_of(data, b"0129", LintCode::InvalidBiologicalSexCode)
}

/// `pcenc`: every `%` starts a `%hh` hex escape.
pub fn pcenc(data: &[u8]) -> LintResult {
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'%' {
            let end = data.len().min(i + 3);
            if end - i < 3 || !data[i + 1].is_ascii_hexdigit() || !data[i + 2].is_ascii_hexdigit() {
                return fail(LintCode::InvalidPercentSequence, i, end - i);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Compares two digit strings as numbers.
fn cmp_digits(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `pieceoftotal`: piece number and total, two equal-length non-zero numbers, piece ≤ total.
pub fn pieceoftotal(data: &[u8]) -> LintResult {
    if data.is_empty() || !data.len().is_multiple_of(2) {
        return fail(LintCode::InvalidLengthForPieceOfTotal, 0, data.len());
    }
    digits_only(data, 0)?;
    let half = data.len() / 2;
    let (piece, total) = data.split_at(half);
    if piece.iter().all(|&b| b == b'0') {
        return fail(LintCode::ZeroPieceNumber, 0, half);
    }
    if total.iter().all(|&b| b == b'0') {
        return fail(LintCode::ZeroTotalPieces, half, half);
    }
    if cmp_digits(piece, total).is_gt() {
        return fail(LintCode::PieceNumberExceedsTotal, 0, data.len());
    }
    Ok(())
}

/// `posinseqslash`: `N/M`, both without leading zeros, `N` ≤ `M`.
pub fn posinseqslash(data: &[u8]) -> LintResult {
    let malformed = || fail(LintCode::PositionInSequenceMalformed, 0, data.len());
    let Some(slash) = data.iter().position(|&b| b == b'/') else {
        return malformed();
    };
    let (pos, total) = (&data[..slash], &data[slash + 1..]);
    let is_num = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !is_num(pos) || !is_num(total) {
        return malformed();
    }
    if pos[0] == b'0' {
        return fail(LintCode::IllegalZeroPrefix, 0, pos.len());
    }
    if total[0] == b'0' {
        return fail(LintCode::IllegalZeroPrefix, slash + 1, total.len());
    }
    if cmp_digits(pos, total).is_gt() {
        return fail(LintCode::PositionExceedsEnd, 0, data.len());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Code lists

fn in_list(data: &[u8], list: &[&str]) -> bool {
    std::str::from_utf8(data).is_ok_and(|s| list.binary_search(&s).is_ok())
}

/// `iso3166`: an ISO 3166-1 numeric country code.
pub fn iso3166(data: &[u8]) -> LintResult {
    if !in_list(data, &ISO3166_NUMERIC) {
        return fail(LintCode::NotIso3166, 0, data.len());
    }
    Ok(())
}

/// `iso3166999`: an ISO 3166-1 numeric country code, or `999`.
pub fn iso3166999(data: &[u8]) -> LintResult {
    if data != b"999" && !in_list(data, &ISO3166_NUMERIC) {
        return fail(LintCode::NotIso3166Or999, 0, data.len());
    }
    Ok(())
}

/// `iso3166list`: one or more ISO 3166-1 numeric country codes back to back.
pub fn iso3166list(data: &[u8]) -> LintResult {
    if data.is_empty() || !data.len().is_multiple_of(3) {
        return fail(LintCode::NotIso3166, 0, data.len());
    }
    for (i, code) in data.chunks(3).enumerate() {
        if !in_list(code, &ISO3166_NUMERIC) {
            return fail(LintCode::NotIso3166, i * 3, 3);
        }
    }
    Ok(())
}

/// `iso3166alpha2`: an ISO 3166-1 alpha-2 country code.
pub fn iso3166alpha2(data: &[u8]) -> LintResult {
    if !in_list(data, &ISO3166_ALPHA2) {
        return fail(LintCode::NotIso3166Alpha2, 0, data.len());
    }
    Ok(())
}

/// `iso4217`: an ISO 4217 numeric currency code.
pub fn iso4217(data: &[u8]) -> LintResult {
    if !in_list(data, &ISO4217_NUMERIC) {
        return fail(LintCode::NotIso4217, 0, data.len());
    }
    Ok(())
}

/// `packagetype`: a package type code (UN/ECE Recommendation 21 with the GS1 additions).
pub fn packagetype(data: &[u8]) -> LintResult {
    if !in_list(data, &PACKAGE_TYPES) {
        return fail(LintCode::InvalidPackageType, 0, data.len());
    }
    Ok(())
}

/// `mediatype`: an AIDC media type, `01`–`10` or the company-internal `80`–`99`.
pub fn mediatype(data: &[u8]) -> LintResult {
    let ok = data.len() == 2
        && data.iter().all(u8::is_ascii_digit)
        && matches!((data[0] - b'0') * 10 + (data[1] - b'0'), 1..=10 | 80..=99);
    if !ok {
        return fail(LintCode::InvalidMediaType, 0, data.len());
    }
    Ok(())
}

/// `iban`: an International Bank Account Number (ISO 13616): country code, two check digits
/// (mod 97 = 1), upper-case letters and digits, 5 to 34 characters.
pub fn iban(data: &[u8]) -> LintResult {
    if data.len() < 5 {
        return fail(LintCode::IbanTooShort, 0, data.len());
    }
    if data.len() > 34 {
        return fail(LintCode::IbanTooLong, 0, data.len());
    }
    if let Some(i) = data
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b.is_ascii_uppercase()))
    {
        return fail(LintCode::InvalidIbanCharacter, i, 1);
    }
    if !in_list(&data[..2], &ISO3166_ALPHA2) {
        return fail(LintCode::IllegalIbanCountryCode, 0, 2);
    }
    if let Some(i) = data[2..4].iter().position(|b| !b.is_ascii_digit()) {
        return fail(LintCode::InvalidIbanCharacter, 2 + i, 1);
    }
    let mut rem = 0u32;
    for &b in data[4..].iter().chain(&data[..4]) {
        rem = if b.is_ascii_digit() {
            (rem * 10 + u32::from(b - b'0')) % 97
        } else {
            (rem * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    if rem != 1 {
        return fail(LintCode::IncorrectIbanChecksum, 2, 2);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Dates and times

/// Two digits as a number; the caller has checked they are digits.
fn num2(d: &[u8]) -> u32 {
    u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0')
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Month and day checks of a date whose month starts at `m` (the day follows it).
fn month_day(data: &[u8], m: usize, year: i32, day_zero_ok: bool) -> LintResult {
    let month = num2(&data[m..]);
    if !(1..=12).contains(&month) {
        return fail(LintCode::IllegalMonth, m, 2);
    }
    let day = num2(&data[m + 2..]);
    if (day == 0 && !day_zero_ok) || day > days_in_month(year, month) {
        return fail(LintCode::IllegalDay, m + 2, 2);
    }
    Ok(())
}

fn fixed_len(data: &[u8], want: usize, short: LintCode, long: LintCode) -> LintResult {
    if data.len() < want {
        return fail(short, 0, data.len());
    }
    if data.len() > want {
        return fail(long, 0, data.len());
    }
    digits_only(data, 0)
}

fn yymmdd_date(data: &[u8], today: NaiveDate, day_zero_ok: bool) -> LintResult {
    fixed_len(data, 6, LintCode::DateTooShort, LintCode::DateTooLong)?;
    let year = resolve_two_digit_year(num2(data), today);
    month_day(data, 2, year, day_zero_ok)
}

/// `yymmd0`: a `YYMMDD` date where day `00` stands for the month's last day. The century comes from
/// the GS1 sliding window around `today`.
pub fn yymmd0(data: &[u8], today: NaiveDate) -> LintResult {
    yymmdd_date(data, today, true)
}

/// `yymmdd`: a `YYMMDD` date, day `00` not allowed.
pub fn yymmdd(data: &[u8], today: NaiveDate) -> LintResult {
    yymmdd_date(data, today, false)
}

/// `yymmddhh`: a `YYMMDDHH` date and hour.
pub fn yymmddhh(data: &[u8], today: NaiveDate) -> LintResult {
    fixed_len(data, 8, LintCode::DateWithHourTooShort, LintCode::DateWithHourTooLong)?;
    let year = resolve_two_digit_year(num2(data), today);
    month_day(data, 2, year, false)?;
    hour_at(data, 6)
}

fn yyyymmdd_date(data: &[u8], day_zero_ok: bool) -> LintResult {
    fixed_len(data, 8, LintCode::DateTooShort, LintCode::DateTooLong)?;
    let year = (num2(data) * 100 + num2(&data[2..])) as i32;
    month_day(data, 4, year, day_zero_ok)
}

/// `yyyymmd0`: a `YYYYMMDD` date where day `00` stands for the month's last day.
pub fn yyyymmd0(data: &[u8]) -> LintResult {
    yyyymmdd_date(data, true)
}

/// `yyyymmdd`: a `YYYYMMDD` date.
pub fn yyyymmdd(data: &[u8]) -> LintResult {
    yyyymmdd_date(data, false)
}

fn hour_at(data: &[u8], at: usize) -> LintResult {
    if num2(&data[at..]) > 23 {
        return fail(LintCode::IllegalHour, at, 2);
    }
    Ok(())
}

fn minute_at(data: &[u8], at: usize) -> LintResult {
    if num2(&data[at..]) > 59 {
        return fail(LintCode::IllegalMinute, at, 2);
    }
    Ok(())
}

fn second_at(data: &[u8], at: usize) -> LintResult {
    if num2(&data[at..]) > 59 {
        return fail(LintCode::IllegalSecond, at, 2);
    }
    Ok(())
}

/// `hh`: an hour `00`–`23`.
pub fn hh(data: &[u8]) -> LintResult {
    fixed_len(data, 2, LintCode::HourTooShort, LintCode::HourTooLong)?;
    hour_at(data, 0)
}

/// `mi`: a minute `00`–`59`.
pub fn mi(data: &[u8]) -> LintResult {
    fixed_len(data, 2, LintCode::MinuteTooShort, LintCode::MinuteTooLong)?;
    minute_at(data, 0)
}

/// `mm`: a minute `00`–`59` (newer dictionaries' name for `mi`).
pub fn mm(data: &[u8]) -> LintResult {
    mi(data)
}

/// `ss`: a second `00`–`59`.
pub fn ss(data: &[u8]) -> LintResult {
    fixed_len(data, 2, LintCode::SecondTooShort, LintCode::SecondTooLong)?;
    second_at(data, 0)
}

/// `hhmi`: a time `HHMM`.
pub fn hhmi(data: &[u8]) -> LintResult {
    fixed_len(
        data,
        4,
        LintCode::HourWithMinuteTooShort,
        LintCode::HourWithMinuteTooLong,
    )?;
    hour_at(data, 0)?;
    minute_at(data, 2)
}

/// `hhmm`: a time `HHMM` (newer dictionaries' name for `hhmi`).
pub fn hhmm(data: &[u8]) -> LintResult {
    hhmi(data)
}

/// `mmoptss`: minutes `MM` with optional seconds `MMSS`.
pub fn mmoptss(data: &[u8]) -> LintResult {
    if data.len() != 2 && data.len() != 4 {
        return fail(LintCode::MmssInvalidLength, 0, data.len());
    }
    digits_only(data, 0)?;
    minute_at(data, 0)?;
    if data.len() == 4 { second_at(data, 2) } else { Ok(()) }
}

// ---------------------------------------------------------------------------------------------
// Coordinates

fn coordinate(data: &[u8], base: usize, max: &[u8; 10], len_code: LintCode, range_code: LintCode) -> LintResult {
    if data.len() != 10 {
        return fail(len_code, base, data.len());
    }
    digits_only(data, base)?;
    if data > &max[..] {
        return fail(range_code, base, 10);
    }
    Ok(())
}

/// `latitude`: 10 digits, `0000000000`–`1800000000` (degrees + 90, seven decimals).
pub fn latitude(data: &[u8]) -> LintResult {
    coordinate(
        data,
        0,
        b"1800000000",
        LintCode::LatitudeInvalidLength,
        LintCode::InvalidLatitude,
    )
}

/// `longitude`: 10 digits, `0000000000`–`3600000000` (degrees + 180, seven decimals).
pub fn longitude(data: &[u8]) -> LintResult {
    coordinate(
        data,
        0,
        b"3600000000",
        LintCode::LongitudeInvalidLength,
        LintCode::InvalidLongitude,
    )
}

/// `latlong`: a latitude followed by a longitude, 20 digits.
pub fn latlong(data: &[u8]) -> LintResult {
    let (lat, long) = data.split_at(data.len().min(10));
    coordinate(
        lat,
        0,
        b"1800000000",
        LintCode::LatitudeInvalidLength,
        LintCode::InvalidLatitude,
    )?;
    coordinate(
        long,
        10,
        b"3600000000",
        LintCode::LongitudeInvalidLength,
        LintCode::InvalidLongitude,
    )
}

// ---------------------------------------------------------------------------------------------
// Coupons (AIs 8110 and 8112)

/// A cursor over coupon data. Faults on truncation follow the reference: when the data is used up,
/// the whole data is highlighted, otherwise what is left of it.
struct Coupon<'a> {
    data: &'a [u8],
    p: usize,
}

impl Coupon<'_> {
    fn at_end(&self) -> bool {
        self.p >= self.data.len()
    }

    fn rest(&self) -> usize {
        self.data.len() - self.p
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.p).copied()
    }

    fn missing(&self, code: LintCode) -> LintResult {
        fail(code, 0, self.data.len())
    }

    fn truncated(&self, code: LintCode) -> LintError {
        if self.at_end() {
            err(code, 0, self.data.len())
        } else {
            err(code, self.p, self.rest())
        }
    }

    /// A one-digit field that must be present, checked by `ok`.
    fn digit(&mut self, missing: LintCode, invalid: LintCode, ok: impl Fn(u8) -> bool) -> Result<u8, LintError> {
        let Some(d) = self.peek() else {
            return Err(err(missing, 0, self.data.len()));
        };
        if !ok(d) {
            return Err(err(invalid, self.p, 1));
        }
        self.p += 1;
        Ok(d - b'0')
    }

    /// A field of `n` digits that must all be present; returns where it starts.
    fn take(&mut self, n: usize, truncated: LintCode) -> Result<usize, LintError> {
        if self.rest() < n {
            return Err(self.truncated(truncated));
        }
        let at = self.p;
        self.p += n;
        Ok(at)
    }

    /// A company prefix of `n` digits, checked as `gcppos1`.
    fn gcp(&mut self, n: usize, truncated: LintCode) -> LintResult {
        let at = self.take(n, truncated)?;
        gcppos1(&self.data[at..at + n]).map_err(|e| err(e.code, at, n))
    }
}

fn err(code: LintCode, position: usize, len: usize) -> LintError {
    LintError { code, position, len }
}

/// `couponcode`: a North American coupon code (AI 8110), field by field.
pub fn couponcode(data: &[u8], today: NaiveDate) -> LintResult {
    use LintCode::*;
    digits_only(data, 0)?;
    let mut c = Coupon { data, p: 0 };
    // Primary company prefix: VLI 0-6 gives 6-12 digits; offer code; save value; purchase requirement.
    let vli = c.digit(CouponMissingGcpVli, CouponInvalidGcpLength, |d| d <= b'6')?;
    c.gcp(usize::from(vli) + 6, CouponTruncatedGcp)?;
    c.take(6, CouponTruncatedOfferCode)?;
    let vli = c.digit(CouponMissingSaveValueVli, CouponInvalidSaveValueLength, |d| {
        (b'1'..=b'5').contains(&d)
    })?;
    c.take(usize::from(vli), CouponTruncatedSaveValue)?;
    let vli = c.digit(
        CouponMissing1stPurchaseRequirementVli,
        CouponInvalid1stPurchaseRequirementLength,
        |d| (b'1'..=b'5').contains(&d),
    )?;
    c.take(usize::from(vli), CouponTruncated1stPurchaseRequirement)?;
    c.digit(
        CouponMissing1stPurchaseRequirementCode,
        CouponInvalid1stPurchaseRequirementCode,
        |d| d <= b'4' || d == b'9',
    )?;
    c.take(3, CouponTruncated1stPurchaseFamilyCode)?;
    // Optional field 1: additional rules and second purchase.
    if c.peek() == Some(b'1') {
        c.p += 1;
        c.digit(
            CouponMissingAdditionalPurchaseRulesCode,
            CouponInvalidAdditionalPurchaseRulesCode,
            |d| d <= b'3',
        )?;
        let vli = c.digit(
            CouponMissing2ndPurchaseRequirementVli,
            CouponInvalid2ndPurchaseRequirementLength,
            |d| (b'1'..=b'5').contains(&d),
        )?;
        c.take(usize::from(vli), CouponTruncated2ndPurchaseRequirement)?;
        c.digit(
            CouponMissing2ndPurchaseRequirementCode,
            CouponInvalid2ndPurchaseRequirementCode,
            |d| d <= b'4' || d == b'9',
        )?;
        c.take(3, CouponTruncated2ndPurchaseFamilyCode)?;
        let vli = c.digit(CouponMissing2ndPurchaseGcpVli, CouponInvalid2ndPurchaseGcpLength, |d| {
            d <= b'6' || d == b'9'
        })?;
        if vli != 9 {
            c.gcp(usize::from(vli) + 6, CouponTruncated2ndPurchaseGcp)?;
        }
    }
    // Optional field 2: third purchase.
    if c.peek() == Some(b'2') {
        c.p += 1;
        let vli = c.digit(
            CouponMissing3rdPurchaseRequirementVli,
            CouponInvalid3rdPurchaseRequirementLength,
            |d| (b'1'..=b'5').contains(&d),
        )?;
        c.take(usize::from(vli), CouponTruncated3rdPurchaseRequirement)?;
        c.digit(
            CouponMissing3rdPurchaseRequirementCode,
            CouponInvalid3rdPurchaseRequirementCode,
            |d| d <= b'4' || d == b'9',
        )?;
        c.take(3, CouponTruncated3rdPurchaseFamilyCode)?;
        let vli = c.digit(CouponMissing3rdPurchaseGcpVli, CouponInvalid3rdPurchaseGcpLength, |d| {
            d <= b'6' || d == b'9'
        })?;
        if vli != 9 {
            c.gcp(usize::from(vli) + 6, CouponTruncated3rdPurchaseGcp)?;
        }
    }
    // Optional field 3: expiration date; 4: start date (not after the expiration date).
    let mut expiry = None;
    if c.peek() == Some(b'3') {
        c.p += 1;
        let at = c.take(6, CouponTooShortForExpirationDate)?;
        yymmdd(&data[at..at + 6], today).map_err(|_| err(CouponInvalidExpirationDate, at, 6))?;
        expiry = Some(at);
    }
    if c.peek() == Some(b'4') {
        c.p += 1;
        let at = c.take(6, CouponTooShortForStartDate)?;
        yymmdd(&data[at..at + 6], today).map_err(|_| err(CouponInvalidStartDate, at, 6))?;
        if let Some(e) = expiry {
            let (start, end) = (date6(&data[at..at + 6], today), date6(&data[e..e + 6], today));
            if start > end {
                return fail(CouponExpirationBeforeStart, e - 1, at + 7 - e);
            }
        }
    }
    // Optional field 5: serial number (VLI 0-9 gives 6-15 digits).
    if c.peek() == Some(b'5') {
        c.p += 1;
        let Some(d) = c.peek() else {
            return c.missing(CouponMissingSerialNumberVli);
        };
        c.p += 1;
        c.take(usize::from(d - b'0') + 6, CouponTruncatedSerialNumber)?;
    }
    // Optional field 6: retailer company prefix or GLN (VLI 1-7 gives 7-13 digits).
    if c.peek() == Some(b'6') {
        c.p += 1;
        let vli = c.digit(
            CouponMissingRetailerGcpOrGlnVli,
            CouponInvalidRetailerGcpOrGlnLength,
            |d| (b'1'..=b'7').contains(&d),
        )?;
        c.gcp(usize::from(vli) + 6, CouponTruncatedRetailerGcpOrGln)?;
    }
    // Optional field 9: miscellaneous.
    if c.peek() == Some(b'9') {
        c.p += 1;
        c.digit(CouponMissingSaveValueCode, CouponInvalidSaveValueCode, |d| {
            matches!(d, b'0' | b'1' | b'2' | b'5' | b'6')
        })?;
        c.digit(
            CouponMissingSaveValueAppliesToItem,
            CouponInvalidSaveValueAppliesToItem,
            |d| d <= b'2',
        )?;
        c.digit(CouponMissingStoreCouponFlag, CouponMissingStoreCouponFlag, |_| true)?;
        c.digit(CouponMissingDontMultiplyFlag, CouponInvalidDontMultiplyFlag, |d| {
            d <= b'1'
        })?;
    }
    if !c.at_end() {
        return fail(CouponExcessData, c.p, c.rest());
    }
    Ok(())
}

/// A validated `YYMMDD` as a comparable date (the window decides the century).
fn date6(d: &[u8], today: NaiveDate) -> (i32, u32, u32) {
    (resolve_two_digit_year(num2(d), today), num2(&d[2..]), num2(&d[4..]))
}

/// `couponposoffer`: a positive offer file coupon (AI 8112), field by field.
pub fn couponposoffer(data: &[u8]) -> LintResult {
    use LintCode::*;
    digits_only(data, 0)?;
    let mut c = Coupon { data, p: 0 };
    c.digit(CouponMissingFormatCode, CouponInvalidFormatCode, |d| d <= b'1')?;
    let vli = c.digit(CouponMissingFunderVli, CouponInvalidFunderLength, |d| d <= b'6')?;
    c.gcp(usize::from(vli) + 6, CouponTruncatedFunder)?;
    c.take(6, CouponTruncatedOfferCode)?;
    let Some(d) = c.peek() else {
        return c.missing(CouponMissingSerialNumberVli);
    };
    c.p += 1;
    c.take(usize::from(d - b'0') + 6, CouponTruncatedSerialNumber)?;
    if !c.at_end() {
        return fail(CouponExcessData, c.p, c.rest());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Code lists (sorted for binary search)

/// ISO 3166-1 numeric country codes.
const ISO3166_NUMERIC: [&str; 249] = [
    "004", "008", "010", "012", "016", "020", "024", "028", "031", "032", "036", "040", "044", "048", "050", "051",
    "052", "056", "060", "064", "068", "070", "072", "074", "076", "084", "086", "090", "092", "096", "100", "104",
    "108", "112", "116", "120", "124", "132", "136", "140", "144", "148", "152", "156", "158", "162", "166", "170",
    "174", "175", "178", "180", "184", "188", "191", "192", "196", "203", "204", "208", "212", "214", "218", "222",
    "226", "231", "232", "233", "234", "238", "239", "242", "246", "248", "250", "254", "258", "260", "262", "266",
    "268", "270", "275", "276", "288", "292", "296", "300", "304", "308", "312", "316", "320", "324", "328", "332",
    "334", "336", "340", "344", "348", "352", "356", "360", "364", "368", "372", "376", "380", "384", "388", "392",
    "398", "400", "404", "408", "410", "414", "417", "418", "422", "426", "428", "430", "434", "438", "440", "442",
    "446", "450", "454", "458", "462", "466", "470", "474", "478", "480", "484", "492", "496", "498", "499", "500",
    "504", "508", "512", "516", "520", "524", "528", "531", "533", "534", "535", "540", "548", "554", "558", "562",
    "566", "570", "574", "578", "580", "581", "583", "584", "585", "586", "591", "598", "600", "604", "608", "612",
    "616", "620", "624", "626", "630", "634", "638", "642", "643", "646", "652", "654", "659", "660", "662", "663",
    "666", "670", "674", "678", "682", "686", "688", "690", "694", "702", "703", "704", "705", "706", "710", "716",
    "724", "728", "729", "732", "740", "744", "748", "752", "756", "760", "762", "764", "768", "772", "776", "780",
    "784", "788", "792", "795", "796", "798", "800", "804", "807", "818", "826", "831", "832", "833", "834", "840",
    "850", "854", "858", "860", "862", "876", "882", "887", "894",
];

/// ISO 3166-1 alpha-2 country codes.
const ISO3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// ISO 4217 numeric currency codes.
const ISO4217_NUMERIC: [&str; 179] = [
    "008", "012", "032", "036", "044", "048", "050", "051", "052", "060", "064", "068", "072", "084", "090", "096",
    "104", "108", "116", "124", "132", "136", "144", "152", "156", "170", "174", "188", "192", "203", "208", "214",
    "222", "230", "232", "238", "242", "262", "270", "292", "320", "324", "328", "332", "340", "344", "348", "352",
    "356", "360", "364", "368", "376", "388", "392", "396", "398", "400", "404", "408", "410", "414", "417", "418",
    "422", "426", "430", "434", "446", "454", "458", "462", "480", "484", "496", "498", "504", "512", "516", "524",
    "532", "533", "548", "554", "558", "566", "578", "586", "590", "598", "600", "604", "608", "634", "643", "646",
    "654", "682", "690", "702", "704", "706", "710", "728", "748", "752", "756", "760", "764", "776", "780", "784",
    "788", "800", "807", "818", "826", "834", "840", "858", "860", "882", "886", "901", "924", "925", "926", "927",
    "928", "929", "930", "933", "934", "936", "938", "940", "941", "943", "944", "946", "947", "948", "949", "950",
    "951", "952", "953", "955", "956", "957", "958", "959", "960", "961", "962", "963", "964", "965", "967", "968",
    "969", "970", "971", "972", "973", "975", "976", "977", "978", "979", "980", "981", "984", "985", "986", "990",
    "994", "997", "999",
];

/// Package type codes: UN/ECE Recommendation 21 with the GS1 additions.
const PACKAGE_TYPES: [&str; 431] = [
    "1A", "1B", "1D", "1F", "1G", "1W", "200", "201", "202", "203", "204", "205", "206", "210", "211", "212", "2C",
    "3A", "3H", "43", "44", "4A", "4B", "4C", "4D", "4F", "4G", "4H", "5H", "5L", "5M", "6H", "6P", "7A", "7B", "8",
    "8A", "8B", "8C", "9", "AA", "AB", "AC", "AD", "AF", "AG", "AH", "AI", "AJ", "AL", "AM", "AP", "APE", "AT", "AV",
    "B4", "BB", "BC", "BD", "BE", "BF", "BG", "BGE", "BH", "BI", "BJ", "BK", "BL", "BM", "BME", "BN", "BO", "BP", "BQ",
    "BR", "BRI", "BS", "BT", "BU", "BV", "BW", "BX", "BY", "BZ", "CA", "CB", "CBL", "CC", "CCE", "CD", "CE", "CF",
    "CG", "CH", "CI", "CJ", "CK", "CL", "CM", "CN", "CO", "CP", "CQ", "CR", "CS", "CT", "CU", "CV", "CW", "CX", "CY",
    "CZ", "DA", "DB", "DC", "DG", "DH", "DI", "DJ", "DK", "DL", "DM", "DN", "DP", "DPE", "DR", "DS", "DT", "DU", "DV",
    "DW", "DX", "DY", "E1", "E2", "E3", "EC", "ED", "EE", "EF", "EG", "EH", "EI", "EN", "FB", "FC", "FD", "FE", "FI",
    "FL", "FO", "FOB", "FP", "FPE", "FR", "FT", "FW", "FX", "GB", "GI", "GL", "GR", "GU", "GY", "GZ", "HA", "HB", "HC",
    "HG", "HN", "HR", "IA", "IB", "IC", "ID", "IE", "IF", "IG", "IH", "IK", "IL", "IN", "IZ", "JB", "JC", "JG", "JR",
    "JT", "JY", "KG", "KI", "LAB", "LE", "LG", "LT", "LU", "LV", "LZ", "MA", "MB", "MC", "ME", "MPE", "MR", "MS", "MT",
    "MW", "MX", "NA", "NE", "NF", "NG", "NS", "NT", "NU", "NV", "OA", "OB", "OC", "OD", "OE", "OF", "OK", "OPE", "OT",
    "OU", "P2", "PA", "PAE", "PB", "PC", "PD", "PE", "PF", "PG", "PH", "PI", "PJ", "PK", "PL", "PLP", "PN", "PO",
    "POP", "PP", "PPE", "PR", "PT", "PU", "PUE", "PV", "PX", "PY", "PZ", "QA", "QB", "QC", "QD", "QF", "QG", "QH",
    "QJ", "QK", "QL", "QM", "QN", "QP", "QQ", "QR", "QS", "RB1", "RB2", "RB3", "RCB", "RD", "RG", "RJ", "RK", "RL",
    "RO", "RT", "RZ", "S1", "SA", "SB", "SC", "SD", "SE", "SEC", "SH", "SI", "SK", "SL", "SM", "SO", "SP", "SS", "ST",
    "STL", "SU", "SV", "SW", "SX", "SY", "SZ", "T1", "TB", "TC", "TD", "TE", "TEV", "TG", "THE", "TI", "TK", "TL",
    "TN", "TO", "TR", "TRE", "TS", "TT", "TTE", "TU", "TV", "TW", "TWE", "TY", "TZ", "UC", "UN", "UUE", "VA", "VG",
    "VI", "VK", "VL", "VN", "VO", "VP", "VQ", "VR", "VS", "VY", "WA", "WB", "WC", "WD", "WF", "WG", "WH", "WJ", "WK",
    "WL", "WM", "WN", "WP", "WQ", "WR", "WRP", "WS", "WT", "WU", "WV", "WW", "WX", "WY", "WZ", "X11", "X12", "X15",
    "X16", "X17", "X18", "X19", "X20", "X3", "XA", "XB", "XC", "XD", "XF", "XG", "XH", "XJ", "XK", "YA", "YB", "YC",
    "YD", "YF", "YG", "YH", "YJ", "YK", "YL", "YM", "YN", "YP", "YQ", "YR", "YS", "YT", "YV", "YW", "YX", "YY", "YZ",
    "ZA", "ZB", "ZC", "ZD", "ZF", "ZG", "ZH", "ZJ", "ZK", "ZL", "ZM", "ZN", "ZP", "ZQ", "ZR", "ZS", "ZT", "ZU", "ZV",
    "ZW", "ZX", "ZY", "ZZ",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date")
    }

    /// (linter, input, `None` for OK or `Some((code, position, len))`)
    type Case = (&'static str, &'static [u8], Option<(LintCode, usize, usize)>);

    fn run(cases: &[Case]) {
        for (name, input, want) in cases {
            let l = linter(name).unwrap_or_else(|| panic!("unknown linter {name}"));
            let got = l.check(input, today()).err().map(|e| (e.code, e.position, e.len));
            assert_eq!(got, *want, "{name} {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn every_listed_name_resolves_and_is_sorted() {
        for w in LINTER_NAMES.windows(2) {
            assert!(w[0] < w[1], "{} !< {}", w[0], w[1]);
        }
        for n in LINTER_NAMES {
            assert!(linter(n).is_some(), "{n}");
        }
        assert!(linter("nosuchlinter").is_none());
        for list in [
            &ISO3166_NUMERIC[..],
            &ISO3166_ALPHA2[..],
            &ISO4217_NUMERIC[..],
            &PACKAGE_TYPES[..],
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "code list not sorted");
        }
        assert_eq!(
            (ISO3166_NUMERIC.len(), ISO3166_ALPHA2.len(), ISO4217_NUMERIC.len()),
            (249, 249, 179)
        );
    }

    #[test]
    fn character_sets() {
        use LintCode::*;
        run(&[
            ("csetnumeric", b"0123456789", None),
            ("csetnumeric", b"", None),
            ("csetnumeric", b"0a", Some((NonDigitCharacter, 1, 1))),
            ("cset82", b"!\"%&'()*+,-./09:;<=>?AZ_az", None),
            ("cset82", b"AB C", Some((InvalidCset82Character, 2, 1))),
            ("cset82", b"A#", Some((InvalidCset82Character, 1, 1))),
            ("cset82", b"\xc3\xa9", Some((InvalidCset82Character, 0, 1))),
            ("cset39", b"#-/0123456789ABCXYZ", None),
            ("cset39", b"AB_C", Some((InvalidCset39Character, 2, 1))),
            ("cset39", b"abc", Some((InvalidCset39Character, 0, 1))),
            ("cset64", b"AZaz09-_", None),
            ("cset64", b"12=", None),
            ("cset64", b"1==", None),
            ("cset64", b"===", Some((InvalidCset64Padding, 0, 3))),
            ("cset64", b"123=", Some((InvalidCset64Padding, 3, 1))),
            ("cset64", b"12==", Some((InvalidCset64Padding, 2, 2))),
            ("cset64", b"1=34", Some((InvalidCset64Character, 1, 1))),
            ("cset64", b"AB C", Some((InvalidCset64Character, 2, 1))),
        ]);
    }

    #[test]
    fn check_characters() {
        use LintCode::*;
        run(&[
            ("csum", b"02345673", None),
            ("csum", b"123456789012345675", None),
            ("csum", b"", Some((TooShortForCheckDigit, 0, 0))),
            ("csum", b"12345673", Some((IncorrectCheckDigit, 7, 1))),
            ("csum", b"12345678 012345675", Some((NonDigitCharacter, 8, 1))),
            ("csumalpha", b"1987654Ad4X4bL5ttr2310c2K", None),
            ("csumalpha", b"12345_!\"%&'()*+,-./LC", None),
            ("csumalpha", b"22", None),
            ("csumalpha", b"2", Some((TooShortForCheckPair, 0, 1))),
            ("csumalpha", b"33", Some((IncorrectCheckPair, 0, 2))),
            (
                "csumalpha",
                b"1987654Ad4X4bL5ttr2310cXK",
                Some((IncorrectCheckPair, 23, 2)),
            ),
            (
                "csumalpha",
                b"123456789 1234567890123NT",
                Some((InvalidCset82Character, 9, 1)),
            ),
            ("iban", b"GB98MIDL07009312345678", None),
            ("iban", b"MT90MALT011000012345MTLCAST001SABC", None),
            ("iban", b"BE71096123456760", Some((IncorrectIbanChecksum, 2, 2))),
            ("iban", b"BE71", Some((IbanTooShort, 0, 4))),
            ("iban", b"XX361234567890", Some((IllegalIbanCountryCode, 0, 2))),
            (
                "iban",
                b"LC14BOSLxx3456789012345678901230",
                Some((InvalidIbanCharacter, 8, 1)),
            ),
            (
                "iban",
                b"MTXXMALT011000012345MTLCAST001SABCD",
                Some((IbanTooLong, 0, 35)),
            ),
        ]);
    }

    #[test]
    fn company_prefix_and_keys() {
        use LintCode::*;
        run(&[
            ("gcppos1", b"0123", None),
            ("gcppos1", b"0123A", None),
            ("gcppos1", b"012", Some((TooShortForGcp, 0, 3))),
            ("gcppos1", b"01A3", Some((InvalidGcpPrefix, 2, 1))),
            ("gcppos2", b"I0123", None),
            ("gcppos2", b"I012", Some((TooShortForGcp, 1, 3))),
            ("gcppos2", b"I", Some((TooShortForGcp, 0, 1))),
            ("gcppos2", b"IA123", Some((InvalidGcpPrefix, 1, 1))),
            ("key", b"9501101", None),
            ("keyoff1", b"0950", Some((TooShortForGcp, 1, 3))),
            ("importeridx", b"_", None),
            ("importeridx", b"AA", Some((ImporterIdxMustBeOneCharacter, 0, 2))),
            ("importeridx", b"#", Some((InvalidImportIdxCharacter, 0, 1))),
        ]);
    }

    #[test]
    fn simple_values() {
        use LintCode::*;
        run(&[
            ("zero", b"0", None),
            ("zero", b"01", Some((NotZero, 0, 2))),
            ("zero", b"", Some((NotZero, 0, 0))),
            ("nonzero", b"0009", None),
            ("nonzero", b"000", Some((IllegalZeroValue, 0, 3))),
            ("nonzero", b"9A99", Some((NonDigitCharacter, 1, 1))),
            ("nozeroprefix", b"", None),
            ("nozeroprefix", b"10", None),
            ("nozeroprefix", b"012", Some((IllegalZeroPrefix, 0, 1))),
            ("hasnondigit", b"1A1", None),
            ("hasnondigit", b"111", Some((RequiresNonDigitCharacter, 0, 3))),
            ("hyphen", b"--", None),
            ("hyphen", b"X", Some((NotHyphen, 0, 1))),
            ("yesno", b"1", None),
            ("yesno", b"2", Some((NotZeroOrOne, 0, 1))),
            ("winding", b"9", None),
            ("winding", b"01", Some((InvalidWindingDirection, 0, 2))),
            ("iso5218", b"9", None),
            ("iso5218", b"3", Some((InvalidBiologicalSexCode, 0, 1))),
            ("pcenc", b"ABC%20XYZ", None),
            ("pcenc", b"%Ff", None),
            ("pcenc", b"ABC%g", Some((InvalidPercentSequence, 3, 2))),
            ("pcenc", b"ABC%gXYZ", Some((InvalidPercentSequence, 3, 3))),
            ("pieceoftotal", b"0103", None),
            ("pieceoftotal", b"999999", None),
            ("pieceoftotal", b"111", Some((InvalidLengthForPieceOfTotal, 0, 3))),
            ("pieceoftotal", b"0001", Some((ZeroPieceNumber, 0, 2))),
            ("pieceoftotal", b"0100", Some((ZeroTotalPieces, 2, 2))),
            ("pieceoftotal", b"0908", Some((PieceNumberExceedsTotal, 0, 4))),
            ("posinseqslash", b"9/10", None),
            ("posinseqslash", b"1//2", Some((PositionInSequenceMalformed, 0, 4))),
            ("posinseqslash", b"1/02", Some((IllegalZeroPrefix, 2, 2))),
            ("posinseqslash", b"10/9", Some((PositionExceedsEnd, 0, 4))),
        ]);
    }

    #[test]
    fn code_lists() {
        use LintCode::*;
        run(&[
            ("iso3166", b"276", None),
            ("iso3166", b"894", None),
            ("iso3166", b"000", Some((NotIso3166, 0, 3))),
            ("iso3166", b"2760", Some((NotIso3166, 0, 4))),
            ("iso3166999", b"999", None),
            ("iso3166999", b"998", Some((NotIso3166Or999, 0, 3))),
            ("iso3166list", b"276250", None),
            ("iso3166list", b"276000", Some((NotIso3166, 3, 3))),
            ("iso3166alpha2", b"DE", None),
            ("iso3166alpha2", b"XK", Some((NotIso3166Alpha2, 0, 2))),
            ("iso3166alpha2", b"de", Some((NotIso3166Alpha2, 0, 2))),
            ("iso4217", b"978", None),
            ("iso4217", b"975", None),
            ("iso4217", b"000", Some((NotIso4217, 0, 3))),
            ("packagetype", b"1A", None),
            ("packagetype", b"PX", None),
            ("packagetype", b"X20", None),
            ("packagetype", b"1A_", Some((InvalidPackageType, 0, 3))),
            ("mediatype", b"10", None),
            ("mediatype", b"80", None),
            ("mediatype", b"11", Some((InvalidMediaType, 0, 2))),
            ("mediatype", b"00", Some((InvalidMediaType, 0, 2))),
        ]);
    }

    #[test]
    fn dates_and_times() {
        use LintCode::*;
        run(&[
            ("yymmd0", b"200600", None),
            ("yymmd0", b"000229", None),
            ("yymmd0", b"200230", Some((IllegalDay, 4, 2))),
            ("yymmd0", b"201310", Some((IllegalMonth, 2, 2))),
            ("yymmd0", b"11111", Some((DateTooShort, 0, 5))),
            ("yymmd0", b"2x0131", Some((NonDigitCharacter, 1, 1))),
            ("yymmdd", b"240229", None),
            ("yymmdd", b"200600", Some((IllegalDay, 4, 2))),
            ("yymmdd", b"1111111", Some((DateTooLong, 0, 7))),
            ("yyyymmd0", b"20200600", None),
            ("yyyymmd0", b"21000229", Some((IllegalDay, 6, 2))),
            ("yyyymmdd", b"24000229", None),
            ("yyyymmdd", b"20200600", Some((IllegalDay, 6, 2))),
            ("yymmddhh", b"26112123", None),
            ("yymmddhh", b"26112124", Some((IllegalHour, 6, 2))),
            ("hh", b"23", None),
            ("hh", b"24", Some((IllegalHour, 0, 2))),
            ("hh", b"1", Some((HourTooShort, 0, 1))),
            ("mi", b"60", Some((IllegalMinute, 0, 2))),
            ("mm", b"59", None),
            ("ss", b"111", Some((SecondTooLong, 0, 3))),
            ("hhmi", b"2359", None),
            ("hhmi", b"0060", Some((IllegalMinute, 2, 2))),
            ("hhmm", b"11111", Some((HourWithMinuteTooLong, 0, 5))),
            ("mmoptss", b"59", None),
            ("mmoptss", b"5960", Some((IllegalSecond, 2, 2))),
            ("mmoptss", b"123", Some((MmssInvalidLength, 0, 3))),
        ]);
        // The two-digit year follows the window: 00 is 2000 (leap) today, 2100 (not leap) in 2080.
        let later = NaiveDate::from_ymd_opt(2080, 1, 1).expect("valid date");
        assert!(yymmd0(b"000229", today()).is_ok());
        assert_eq!(yymmd0(b"000229", later).map_err(|e| e.code), Err(LintCode::IllegalDay));
    }

    #[test]
    fn coordinates() {
        use LintCode::*;
        run(&[
            ("latitude", b"1800000000", None),
            ("latitude", b"1800000001", Some((InvalidLatitude, 0, 10))),
            ("latitude", b"027908584", Some((LatitudeInvalidLength, 0, 9))),
            ("longitude", b"3600000000", None),
            ("longitude", b"123456789x", Some((NonDigitCharacter, 9, 1))),
            ("latlong", b"02790858483015297971", None),
            ("latlong", b"02790858483600000001", Some((InvalidLongitude, 10, 10))),
        ]);
    }

    #[test]
    fn coupons() {
        use LintCode::*;
        run(&[
            ("couponcode", b"012345612345611110123", None),
            ("couponcode", b"012345612345611110123101101230123456", None),
            ("couponcode", b"0123456123456111101233200229", None),
            (
                "couponcode",
                b"0123456123456111101239",
                Some((CouponMissingSaveValueCode, 0, 22)),
            ),
            ("couponcode", b"01", Some((CouponTruncatedGcp, 1, 1))),
            ("couponcode", b"0123456", Some((CouponTruncatedOfferCode, 0, 7))),
            ("couponcode", b"71234567890123", Some((CouponInvalidGcpLength, 0, 1))),
            ("couponcode", b"a12345612345611110123", Some((NonDigitCharacter, 0, 1))),
            (
                "couponcode",
                b"0123456123456111101233201131",
                Some((CouponInvalidExpirationDate, 22, 6)),
            ),
            (
                "couponcode",
                b"01234561234561111012332611304261201",
                Some((CouponExpirationBeforeStart, 21, 14)),
            ),
            ("couponcode", b"0123456123456111101237", Some((CouponExcessData, 21, 1))),
            ("couponposoffer", b"001234561234560123456", None),
            ("couponposoffer", b"", Some((CouponMissingFormatCode, 0, 0))),
            (
                "couponposoffer",
                b"201234561234560123456",
                Some((CouponInvalidFormatCode, 0, 1)),
            ),
            ("couponposoffer", b"001", Some((CouponTruncatedFunder, 2, 1))),
            (
                "couponposoffer",
                b"00123456123456",
                Some((CouponMissingSerialNumberVli, 0, 14)),
            ),
            (
                "couponposoffer",
                b"0012345612345601234567",
                Some((CouponExcessData, 21, 1)),
            ),
        ]);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let alphabet: &[u8] = b"0123456789AZaz/-=%_#*\x00\xff";
        let mut state = 0x9e37_79b9_u32;
        for _ in 0..3_000 {
            let len = (state % 40) as usize;
            let mut input = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                input.push(alphabet[(state as usize) % alphabet.len()]);
            }
            for name in LINTER_NAMES {
                if let Some(Err(e)) = linter(name).map(|l| l.check(&input, today())) {
                    assert!(
                        e.position + e.len <= input.len().max(e.position),
                        "{name} {input:?} {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn meanings_and_names_are_set() {
        assert_eq!(LintCode::NotIso3166Alpha2.name(), "NOT_ISO3166_ALPHA2");
        assert_eq!(
            LintCode::CouponMissing1stPurchaseRequirementVli.name(),
            "COUPON_MISSING_1ST_PURCHASE_REQUIREMENT_VLI"
        );
        assert_eq!(LintCode::IncorrectCheckDigit.meaning(), "the check digit is wrong");
    }
}
