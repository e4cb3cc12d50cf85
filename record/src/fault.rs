//! bitmarkd's fault vocabulary: every error text a bitmarkd node can put on the wire.
//!
//! Generated from bitmarkd `fault/fault.go` (commit 0b0a29fd). The texts travel on the wire and
//! in JSON, so they must stay byte-identical to bitmarkd's; the variant names are bitmarkd's
//! identifiers so that `fault.NotLink` in the test vectors maps to [`Fault::NotLink`].

/// A bitmarkd fault. `Display` gives bitmarkd's exact text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Fault {
    /// `address is nil`
    #[error("address is nil")]
    AddressIsNil,
    /// `already initialised`
    #[error("already initialised")]
    AlreadyInitialised,
    /// `asset fingerprint is required`
    #[error("asset fingerprint is required")]
    AssetFingerprintIsRequired,
    /// `asset is not indexed`
    #[error("asset is not indexed")]
    AssetIsNotIndexed,
    /// `asset metadata is required`
    #[error("asset metadata is required")]
    AssetMetadataIsRequired,
    /// `asset metadata must be map`
    #[error("asset metadata must be map")]
    AssetMetadataMustBeMap,
    /// `asset not found`
    #[error("asset not found")]
    AssetNotFound,
    /// `assets already registered`
    #[error("assets already registered")]
    AssetsAlreadyRegistered,
    /// `bitcoin address for wrong network`
    #[error("bitcoin address for wrong network")]
    BitcoinAddressForWrongNetwork,
    /// `bitcoin address is not supported`
    #[error("bitcoin address is not supported")]
    BitcoinAddressIsNotSupported,
    /// `block already processed`
    #[error("block already processed")]
    BlockAlreadyProcessed,
    /// `block end earlier than begin`
    #[error("block end earlier than begin")]
    BlockEndEarlierThanBegin,
    /// `block header not found`
    #[error("block header not found")]
    BlockHeaderNotFound,
    /// `block height not found`
    #[error("block height not found")]
    BlockHeightNotFound,
    /// `block is too old`
    #[error("block is too old")]
    BlockIsTooOld,
    /// `block not found`
    #[error("block not found")]
    BlockNotFound,
    /// `block version must not decrease`
    #[error("block version must not decrease")]
    BlockVersionMustNotDecrease,
    /// `buffer capacity limit`
    #[error("buffer capacity limit")]
    BufferCapacityLimit,
    /// `cannot convert shares back to assets`
    #[error("cannot convert shares back to assets")]
    CannotConvertSharesBackToAssets,
    /// `cannot decode account`
    #[error("cannot decode account")]
    CannotDecodeAccount,
    /// `cannot decode private key`
    #[error("cannot decode private key")]
    CannotDecodePrivateKey,
    /// `cannot decode seed`
    #[error("cannot decode seed")]
    CannotDecodeSeed,
    /// `can only convert assets to shares`
    #[error("can only convert assets to shares")]
    CanOnlyConvertAssetsToShares,
    /// `certificate file already exists`
    #[error("certificate file already exists")]
    CertificateFileAlreadyExists,
    /// `checksum mismatch`
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// `client socket not connected`
    #[error("client socket not connected")]
    ClientSocketNotConnected,
    /// `client socket not created`
    #[error("client socket not created")]
    ClientSocketNotCreated,
    /// `connecting to self forbidden`
    #[error("connecting to self forbidden")]
    ConnectingToSelfForbidden,
    /// `connect is required`
    #[error("connect is required")]
    ConnectIsRequired,
    /// `connect requires port number suffix`
    #[error("connect requires port number suffix")]
    ConnectRequiresPortNumberSuffix,
    /// `crypto failed`
    #[error("crypto failed")]
    CryptoFailed,
    /// `currency address is required`
    #[error("currency address is required")]
    CurrencyAddressIsRequired,
    /// `currency is not supported by proofer`
    #[error("currency is not supported by proofer")]
    CurrencyIsNotSupportedByProofer,
    /// `database is not set`
    #[error("database is not set")]
    DatabaseIsNotSet,
    /// `data inconsistent`
    #[error("data inconsistent")]
    DataInconsistent,
    /// `description is required`
    #[error("description is required")]
    DescriptionIsRequired,
    /// `difficulty does not match calculated`
    #[error("difficulty does not match calculated")]
    DifficultyDoesNotMatchCalculated,
    /// `double transfer attempt`
    #[error("double transfer attempt")]
    DoubleTransferAttempt,
    /// `file does not exist`
    #[error("file does not exist")]
    FileDoesNotExist,
    /// `file name is required`
    #[error("file name is required")]
    FileNameIsRequired,
    /// `fingerprint too long`
    #[error("fingerprint too long")]
    FingerprintTooLong,
    /// `fingerprint too short`
    #[error("fingerprint too short")]
    FingerprintTooShort,
    /// `hash cannot be nil`
    #[error("hash cannot be nil")]
    HashCannotBeNil,
    /// `hash not found`
    #[error("hash not found")]
    HashNotFound,
    /// `height out of sequence`
    #[error("height out of sequence")]
    HeightOutOfSequence,
    /// `identity name already exists`
    #[error("identity name already exists")]
    IdentityNameAlreadyExists,
    /// `identity name is required`
    #[error("identity name is required")]
    IdentityNameIsRequired,
    /// `identity name not found`
    #[error("identity name not found")]
    IdentityNameNotFound,
    /// `incompatible options`
    #[error("incompatible options")]
    IncompatibleOptions,
    /// `incorrect block range to rollback`
    #[error("incorrect block range to rollback")]
    IncorrectBlockRangeToRollback,
    /// `incorrect chain`
    #[error("incorrect chain")]
    IncorrectChain,
    /// `insufficient shares`
    #[error("insufficient shares")]
    InsufficientShares,
    /// `invalid bitcoin address`
    #[error("invalid bitcoin address")]
    InvalidBitcoinAddress,
    /// `invalid block header difficulty`
    #[error("invalid block header difficulty")]
    InvalidBlockHeaderDifficulty,
    /// `invalid block header size`
    #[error("invalid block header size")]
    InvalidBlockHeaderSize,
    /// `invalid block header timestamp`
    #[error("invalid block header timestamp")]
    InvalidBlockHeaderTimestamp,
    /// `invalid block header version`
    #[error("invalid block header version")]
    InvalidBlockHeaderVersion,
    /// `invalid buffer`
    #[error("invalid buffer")]
    InvalidBuffer,
    /// `invalid chain`
    #[error("invalid chain")]
    InvalidChain,
    /// `invalid count`
    #[error("invalid count")]
    InvalidCount,
    /// `invalid currency`
    #[error("invalid currency")]
    InvalidCurrency,
    /// `invalid currency address`
    #[error("invalid currency address")]
    InvalidCurrencyAddress,
    /// `invalid cursor`
    #[error("invalid cursor")]
    InvalidCursor,
    /// `invalid dns txt record`
    #[error("invalid dns txt record")]
    InvalidDnsTxtRecord,
    /// `invalid fingerprint`
    #[error("invalid fingerprint")]
    InvalidFingerprint,
    /// `invalid identity name`
    #[error("invalid identity name")]
    InvalidIdentityName,
    /// `invalid ip address`
    #[error("invalid ip address")]
    InvalidIpAddress,
    /// `invalid item`
    #[error("invalid item")]
    InvalidItem,
    /// `invalid key length`
    #[error("invalid key length")]
    InvalidKeyLength,
    /// `invalid key type`
    #[error("invalid key type")]
    InvalidKeyType,
    /// `invalid length`
    #[error("invalid length")]
    InvalidLength,
    /// `invalid litecoin address`
    #[error("invalid litecoin address")]
    InvalidLitecoinAddress,
    /// `invalid node domain`
    #[error("invalid node domain")]
    InvalidNodeDomain,
    /// `invalid nonce`
    #[error("invalid nonce")]
    InvalidNonce,
    /// `invalid owner or registrant`
    #[error("invalid owner or registrant")]
    InvalidOwnerOrRegistrant,
    /// `invalid password length`
    #[error("invalid password length")]
    InvalidPasswordLength,
    /// `invalid payment version`
    #[error("invalid payment version")]
    InvalidPaymentVersion,
    /// `invalid peer response`
    #[error("invalid peer response")]
    InvalidPeerResponse,
    /// `invalid port number`
    #[error("invalid port number")]
    InvalidPortNumber,
    /// `invalid private key`
    #[error("invalid private key")]
    InvalidPrivateKey,
    /// `invalid proof signing key`
    #[error("invalid proof signing key")]
    InvalidProofSigningKey,
    /// `invalid public key`
    #[error("invalid public key")]
    InvalidPublicKey,
    /// `invalid recovery phrase length`
    #[error("invalid recovery phrase length")]
    InvalidRecoveryPhraseLength,
    /// `invalid secret key length`
    #[error("invalid secret key length")]
    InvalidSecretKeyLength,
    /// `invalid seed header`
    #[error("invalid seed header")]
    InvalidSeedHeader,
    /// `invalid seed length`
    #[error("invalid seed length")]
    InvalidSeedLength,
    /// `invalid signature`
    #[error("invalid signature")]
    InvalidSignature,
    /// `invalid timestamp`
    #[error("invalid timestamp")]
    InvalidTimestamp,
    /// `key file already exists`
    #[error("key file already exists")]
    KeyFileAlreadyExists,
    /// `link to invalid or unconfirmed transaction`
    #[error("link to invalid or unconfirmed transaction")]
    LinkToInvalidOrUnconfirmedTransaction,
    /// `litecoin address for wrong network`
    #[error("litecoin address for wrong network")]
    LitecoinAddressForWrongNetwork,
    /// `litecoin address is not supported`
    #[error("litecoin address is not supported")]
    LitecoinAddressIsNotSupported,
    /// `make block transfer failed`
    #[error("make block transfer failed")]
    MakeBlockTransferFailed,
    /// `make grant failed`
    #[error("make grant failed")]
    MakeGrantFailed,
    /// `make issue failed`
    #[error("make issue failed")]
    MakeIssueFailed,
    /// `make share failed`
    #[error("make share failed")]
    MakeShareFailed,
    /// `make swap failed`
    #[error("make swap failed")]
    MakeSwapFailed,
    /// `make transfer failed`
    #[error("make transfer failed")]
    MakeTransferFailed,
    /// `merkle root does not match`
    #[error("merkle root does not match")]
    MerkleRootDoesNotMatch,
    /// `metadata is not map`
    #[error("metadata is not map")]
    MetadataIsNotMap,
    /// `metadata too long`
    #[error("metadata too long")]
    MetadataTooLong,
    /// `missing block owner`
    #[error("missing block owner")]
    MissingBlockOwner,
    /// `missing owner data`
    #[error("missing owner data")]
    MissingOwnerData,
    /// `missing parameters`
    #[error("missing parameters")]
    MissingParameters,
    /// `missing payment bitcoin section`
    #[error("missing payment bitcoin section")]
    MissingPaymentBitcoinSection,
    /// `missing payment litecoin section`
    #[error("missing payment litecoin section")]
    MissingPaymentLitecoinSection,
    /// `missing previous block header`
    #[error("missing previous block header")]
    MissingPreviousBlockHeader,
    /// `missing reservoir`
    #[error("missing reservoir")]
    MissingReservoir,
    /// `name too long`
    #[error("name too long")]
    NameTooLong,
    /// `nil pointer`
    #[error("nil pointer")]
    NilPointer,
    /// `no address to return`
    #[error("no address to return")]
    NoAddressToReturn,
    /// `no connections available`
    #[error("no connections available")]
    NoConnectionsAvailable,
    /// `no new block headers from peer`
    #[error("no new block headers from peer")]
    NoNewBlockHeadersFromPeer,
    /// `no new transactions`
    #[error("no new transactions")]
    NoNewTransactions,
    /// `not a countersignable record`
    #[error("not a countersignable record")]
    NotACountersignableRecord,
    /// `not a pay id`
    #[error("not a pay id")]
    NotAPayId,
    /// `not a pay nonce`
    #[error("not a pay nonce")]
    NotAPayNonce,
    /// `not asset id`
    #[error("not asset id")]
    NotAssetId,
    /// `not asset identifier`
    #[error("not asset identifier")]
    NotAssetIdentifier,
    /// `not available during synchronise`
    #[error("not available during synchronise")]
    NotAvailableDuringSynchronise,
    /// `not available in read only mode`
    #[error("not available in read only mode")]
    NotAvailableInReadOnlyMode,
    /// `not connected`
    #[error("not connected")]
    NotConnected,
    /// `not initialised`
    #[error("not initialised")]
    NotInitialised,
    /// `not link`
    #[error("not link")]
    NotLink,
    /// `not owned item`
    #[error("not owned item")]
    NotOwnedItem,
    /// `not owner data pack`
    #[error("not owner data pack")]
    NotOwnerDataPack,
    /// `not private key`
    #[error("not private key")]
    NotPrivateKey,
    /// `not public key`
    #[error("not public key")]
    NotPublicKey,
    /// `not transaction pack`
    #[error("not transaction pack")]
    NotTransactionPack,
    /// `ownership is not indexed`
    #[error("ownership is not indexed")]
    OwnershipIsNotIndexed,
    /// `password mismatch`
    #[error("password mismatch")]
    PasswordMismatch,
    /// `pay id already used`
    #[error("pay id already used")]
    PayIdAlreadyUsed,
    /// `payment address too long`
    #[error("payment address too long")]
    PaymentAddressTooLong,
    /// `previous block digest does not match`
    #[error("previous block digest does not match")]
    PreviousBlockDigestDoesNotMatch,
    /// `previous ownership was not deleted`
    #[error("previous ownership was not deleted")]
    PreviousOwnershipWasNotDeleted,
    /// `previous transaction was not deleted`
    #[error("previous transaction was not deleted")]
    PreviousTransactionWasNotDeleted,
    /// `process stopping`
    #[error("process stopping")]
    ProcessStopping,
    /// `rate limiting`
    #[error("rate limiting")]
    RateLimiting,
    /// `record has expired`
    #[error("record has expired")]
    RecordHasExpired,
    /// `share ids cannot be identical`
    #[error("share ids cannot be identical")]
    ShareIdsCannotBeIdentical,
    /// `share quantity too small`
    #[error("share quantity too small")]
    ShareQuantityTooSmall,
    /// `signature too long`
    #[error("signature too long")]
    SignatureTooLong,
    /// `timeout waiting for header`
    #[error("timeout waiting for header")]
    TimeoutWaitingForHeader,
    /// `too many items to process`
    #[error("too many items to process")]
    TooManyItemsToProcess,
    /// `transaction already exists`
    #[error("transaction already exists")]
    TransactionAlreadyExists,
    /// `transaction count out of range`
    #[error("transaction count out of range")]
    TransactionCountOutOfRange,
    /// `transaction hex data is required`
    #[error("transaction hex data is required")]
    TransactionHexDataIsRequired,
    /// `transaction id is required`
    #[error("transaction id is required")]
    TransactionIdIsRequired,
    /// `transaction is not an asset`
    #[error("transaction is not an asset")]
    TransactionIsNotAnAsset,
    /// `transaction is not an issue`
    #[error("transaction is not an issue")]
    TransactionIsNotAnIssue,
    /// `transaction is not a transfer`
    #[error("transaction is not a transfer")]
    TransactionIsNotATransfer,
    /// `transaction is not indexed`
    #[error("transaction is not indexed")]
    TransactionIsNotIndexed,
    /// `transaction links to self`
    #[error("transaction links to self")]
    TransactionLinksToSelf,
    /// `unexpected transaction record`
    #[error("unexpected transaction record")]
    UnexpectedTransactionRecord,
    /// `unmarshal text failed`
    #[error("unmarshal text failed")]
    UnmarshalTextFailed,
    /// `unsupported currency`
    #[error("unsupported currency")]
    UnsupportedCurrency,
    /// `votes insufficient`
    #[error("votes insufficient")]
    VotesInsufficient,
    /// `votes with empty winner`
    #[error("votes with empty winner")]
    VotesWithEmptyWinner,
    /// `votes with zero count`
    #[error("votes with zero count")]
    VotesWithZeroCount,
    /// `votes with zero height`
    #[error("votes with zero height")]
    VotesWithZeroHeight,
    /// `wrong endpoint string`
    #[error("wrong endpoint string")]
    WrongEndpointString,
    /// `wrong network for public key`
    #[error("wrong network for public key")]
    WrongNetworkForPublicKey,
    /// `wrong password`
    #[error("wrong password")]
    WrongPassword,
}

impl Fault {
    /// Every fault, in bitmarkd's order; lets callers map a text back to its variant.
    pub const ALL: &'static [Fault] = &[
        Fault::AddressIsNil,
        Fault::AlreadyInitialised,
        Fault::AssetFingerprintIsRequired,
        Fault::AssetIsNotIndexed,
        Fault::AssetMetadataIsRequired,
        Fault::AssetMetadataMustBeMap,
        Fault::AssetNotFound,
        Fault::AssetsAlreadyRegistered,
        Fault::BitcoinAddressForWrongNetwork,
        Fault::BitcoinAddressIsNotSupported,
        Fault::BlockAlreadyProcessed,
        Fault::BlockEndEarlierThanBegin,
        Fault::BlockHeaderNotFound,
        Fault::BlockHeightNotFound,
        Fault::BlockIsTooOld,
        Fault::BlockNotFound,
        Fault::BlockVersionMustNotDecrease,
        Fault::BufferCapacityLimit,
        Fault::CannotConvertSharesBackToAssets,
        Fault::CannotDecodeAccount,
        Fault::CannotDecodePrivateKey,
        Fault::CannotDecodeSeed,
        Fault::CanOnlyConvertAssetsToShares,
        Fault::CertificateFileAlreadyExists,
        Fault::ChecksumMismatch,
        Fault::ClientSocketNotConnected,
        Fault::ClientSocketNotCreated,
        Fault::ConnectingToSelfForbidden,
        Fault::ConnectIsRequired,
        Fault::ConnectRequiresPortNumberSuffix,
        Fault::CryptoFailed,
        Fault::CurrencyAddressIsRequired,
        Fault::CurrencyIsNotSupportedByProofer,
        Fault::DatabaseIsNotSet,
        Fault::DataInconsistent,
        Fault::DescriptionIsRequired,
        Fault::DifficultyDoesNotMatchCalculated,
        Fault::DoubleTransferAttempt,
        Fault::FileDoesNotExist,
        Fault::FileNameIsRequired,
        Fault::FingerprintTooLong,
        Fault::FingerprintTooShort,
        Fault::HashCannotBeNil,
        Fault::HashNotFound,
        Fault::HeightOutOfSequence,
        Fault::IdentityNameAlreadyExists,
        Fault::IdentityNameIsRequired,
        Fault::IdentityNameNotFound,
        Fault::IncompatibleOptions,
        Fault::IncorrectBlockRangeToRollback,
        Fault::IncorrectChain,
        Fault::InsufficientShares,
        Fault::InvalidBitcoinAddress,
        Fault::InvalidBlockHeaderDifficulty,
        Fault::InvalidBlockHeaderSize,
        Fault::InvalidBlockHeaderTimestamp,
        Fault::InvalidBlockHeaderVersion,
        Fault::InvalidBuffer,
        Fault::InvalidChain,
        Fault::InvalidCount,
        Fault::InvalidCurrency,
        Fault::InvalidCurrencyAddress,
        Fault::InvalidCursor,
        Fault::InvalidDnsTxtRecord,
        Fault::InvalidFingerprint,
        Fault::InvalidIdentityName,
        Fault::InvalidIpAddress,
        Fault::InvalidItem,
        Fault::InvalidKeyLength,
        Fault::InvalidKeyType,
        Fault::InvalidLength,
        Fault::InvalidLitecoinAddress,
        Fault::InvalidNodeDomain,
        Fault::InvalidNonce,
        Fault::InvalidOwnerOrRegistrant,
        Fault::InvalidPasswordLength,
        Fault::InvalidPaymentVersion,
        Fault::InvalidPeerResponse,
        Fault::InvalidPortNumber,
        Fault::InvalidPrivateKey,
        Fault::InvalidProofSigningKey,
        Fault::InvalidPublicKey,
        Fault::InvalidRecoveryPhraseLength,
        Fault::InvalidSecretKeyLength,
        Fault::InvalidSeedHeader,
        Fault::InvalidSeedLength,
        Fault::InvalidSignature,
        Fault::InvalidTimestamp,
        Fault::KeyFileAlreadyExists,
        Fault::LinkToInvalidOrUnconfirmedTransaction,
        Fault::LitecoinAddressForWrongNetwork,
        Fault::LitecoinAddressIsNotSupported,
        Fault::MakeBlockTransferFailed,
        Fault::MakeGrantFailed,
        Fault::MakeIssueFailed,
        Fault::MakeShareFailed,
        Fault::MakeSwapFailed,
        Fault::MakeTransferFailed,
        Fault::MerkleRootDoesNotMatch,
        Fault::MetadataIsNotMap,
        Fault::MetadataTooLong,
        Fault::MissingBlockOwner,
        Fault::MissingOwnerData,
        Fault::MissingParameters,
        Fault::MissingPaymentBitcoinSection,
        Fault::MissingPaymentLitecoinSection,
        Fault::MissingPreviousBlockHeader,
        Fault::MissingReservoir,
        Fault::NameTooLong,
        Fault::NilPointer,
        Fault::NoAddressToReturn,
        Fault::NoConnectionsAvailable,
        Fault::NoNewBlockHeadersFromPeer,
        Fault::NoNewTransactions,
        Fault::NotACountersignableRecord,
        Fault::NotAPayId,
        Fault::NotAPayNonce,
        Fault::NotAssetId,
        Fault::NotAssetIdentifier,
        Fault::NotAvailableDuringSynchronise,
        Fault::NotAvailableInReadOnlyMode,
        Fault::NotConnected,
        Fault::NotInitialised,
        Fault::NotLink,
        Fault::NotOwnedItem,
        Fault::NotOwnerDataPack,
        Fault::NotPrivateKey,
        Fault::NotPublicKey,
        Fault::NotTransactionPack,
        Fault::OwnershipIsNotIndexed,
        Fault::PasswordMismatch,
        Fault::PayIdAlreadyUsed,
        Fault::PaymentAddressTooLong,
        Fault::PreviousBlockDigestDoesNotMatch,
        Fault::PreviousOwnershipWasNotDeleted,
        Fault::PreviousTransactionWasNotDeleted,
        Fault::ProcessStopping,
        Fault::RateLimiting,
        Fault::RecordHasExpired,
        Fault::ShareIdsCannotBeIdentical,
        Fault::ShareQuantityTooSmall,
        Fault::SignatureTooLong,
        Fault::TimeoutWaitingForHeader,
        Fault::TooManyItemsToProcess,
        Fault::TransactionAlreadyExists,
        Fault::TransactionCountOutOfRange,
        Fault::TransactionHexDataIsRequired,
        Fault::TransactionIdIsRequired,
        Fault::TransactionIsNotAnAsset,
        Fault::TransactionIsNotAnIssue,
        Fault::TransactionIsNotATransfer,
        Fault::TransactionIsNotIndexed,
        Fault::TransactionLinksToSelf,
        Fault::UnexpectedTransactionRecord,
        Fault::UnmarshalTextFailed,
        Fault::UnsupportedCurrency,
        Fault::VotesInsufficient,
        Fault::VotesWithEmptyWinner,
        Fault::VotesWithZeroCount,
        Fault::VotesWithZeroHeight,
        Fault::WrongEndpointString,
        Fault::WrongNetworkForPublicKey,
        Fault::WrongPassword,
    ];

    /// bitmarkd's identifier for this fault, e.g. `"NotLink"` (the test vectors say `fault.NotLink`).
    pub fn name(self) -> String {
        format!("{self:?}")
    }

    /// The fault whose wire text is `text`, if any.
    pub fn from_text(text: &str) -> Option<Fault> {
        Fault::ALL.iter().copied().find(|f| f.to_string() == text)
    }
}
