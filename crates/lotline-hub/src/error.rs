//! The hub's errors, each in English (`Display`) and Chinese ([`HubError::message_zh`]).

use lotline_protocol::sync::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("the database {target} could not be opened: {detail}")]
    Open { target: String, detail: String },
    #[error("database error: {0}")]
    Db(String),
    #[error("this hub was built without PostgreSQL support (the `postgres` feature)")]
    NoPostgres,
    #[error("the database's schema is version {found}; this hub knows up to {max}: update the hub")]
    SchemaTooNew { found: i64, max: i64 },
    #[error("missing or unknown token: enrol the device again (lotline sync enroll)")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(Forbidden),
    #[error("the device's command schema {found} is older than this hub takes ({min}): update the device's software")]
    UpdateRequired { found: u32, min: u32 },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("the enrolment code is not known to this hub (check it, or make a new one with lotline-hub enroll)")]
    CodeUnknown,
    #[error("the enrolment code was already used at {at}: make a new one with lotline-hub enroll")]
    CodeUsed { at: String },
    #[error("the enrolment code expired at {at}: make a new one with lotline-hub enroll")]
    CodeExpired { at: String },
    #[error("device {0} is not enrolled on this hub (enrol it first, or ingest the file on the hub it syncs with)")]
    NotEnrolled(String),
    #[error("no lot {lot} of GTIN {gtin} on this hub")]
    LotNotFound { gtin: String, lot: String },
    #[error("'{0}' is not a lot status that can be set (recalled, on_hold, released or rejected)")]
    BadStatus(String),
    #[error("the outbox file cannot be taken: {0}")]
    Outbox(lotline_protocol::OutboxFileError),
    #[error("{0}")]
    Io(String),
    #[error("no such call: {0} (see /openapi.yaml)")]
    NoSuchCall(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// A bucket the device may not read.
    Bucket(String),
    /// An upload naming another device than the token's.
    OtherDevice { token: String, body: String },
    /// A call that needs the hub's admin token.
    NotAdmin,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Forbidden::Bucket(b) => write!(f, "this device may not read the bucket '{b}'"),
            Forbidden::OtherDevice { token, body } => {
                write!(f, "the token is device {token}'s; the upload says device {body}")
            }
            Forbidden::NotAdmin => write!(
                f,
                "this call needs the hub's admin token (lotline-hub token --admin NAME)"
            ),
        }
    }
}

impl HubError {
    pub(crate) fn db(e: impl std::fmt::Display) -> HubError {
        HubError::Db(e.to_string())
    }
    pub(crate) fn sql(sql: &str, e: impl std::fmt::Display) -> HubError {
        let head: String = sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
        HubError::Db(format!("{e} (in: {head} …)"))
    }
    pub(crate) fn open(target: &str, e: impl std::fmt::Display) -> HubError {
        HubError::Open {
            target: target.to_string(),
            detail: e.to_string(),
        }
    }

    /// The Chinese message.
    pub fn message_zh(&self) -> String {
        match self {
            HubError::Open { target, detail } => format!("无法打开数据库 {target}：{detail}"),
            HubError::Db(d) => format!("数据库错误：{d}"),
            HubError::NoPostgres => "此中心服务构建时未包含 PostgreSQL 支持（postgres 功能）".into(),
            HubError::SchemaTooNew { found, max } => {
                format!("数据库结构版本为 {found}，此中心服务最高支持 {max}：请升级中心服务")
            }
            HubError::Unauthorized => "令牌缺失或无效：请重新登记设备（lotline sync enroll）".into(),
            HubError::Forbidden(Forbidden::Bucket(b)) => format!("此设备无权读取数据桶“{b}”"),
            HubError::Forbidden(Forbidden::OtherDevice { token, body }) => {
                format!("令牌属于设备 {token}，上传内容却声明为设备 {body}")
            }
            HubError::Forbidden(Forbidden::NotAdmin) => {
                "此操作需要中心服务的管理员令牌（lotline-hub token --admin 名称）".into()
            }
            HubError::UpdateRequired { found, min } => {
                format!("设备的命令结构版本 {found} 低于中心服务要求的最低版本 {min}：请升级设备软件")
            }
            HubError::BadRequest(d) => format!("请求无效：{d}"),
            HubError::TooLarge(d) => format!("请求过大：{d}"),
            HubError::CodeUnknown => "此登记码在中心服务上不存在（请核对，或用 lotline-hub enroll 生成新码）".into(),
            HubError::CodeUsed { at } => format!("此登记码已于 {at} 使用过：请用 lotline-hub enroll 生成新码"),
            HubError::CodeExpired { at } => format!("此登记码已于 {at} 过期：请用 lotline-hub enroll 生成新码"),
            HubError::NotEnrolled(d) => {
                format!("设备 {d} 未在此中心服务登记（请先登记，或在其同步的中心服务上导入此文件）")
            }
            HubError::LotNotFound { gtin, lot } => format!("此中心服务上没有 GTIN {gtin} 的批号 {lot}"),
            HubError::BadStatus(s) => {
                format!("“{s}”不是可设置的批次状态（recalled、on_hold、released 或 rejected）")
            }
            HubError::Outbox(e) => format!("无法接收此待发送文件：{}", outbox_zh(e)),
            HubError::Io(d) => format!("读写文件失败：{d}"),
            HubError::NoSuchCall(p) => format!("没有此接口：{p}（见 /openapi.yaml）"),
        }
    }

    /// The protocol's error code.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::Unauthorized => "unauthorized",
            HubError::Forbidden(_) => "forbidden",
            HubError::UpdateRequired { .. } => "update_required",
            HubError::BadRequest(_) | HubError::BadStatus(_) | HubError::Outbox(_) => "bad_request",
            HubError::TooLarge(_) => "payload_too_large",
            HubError::LotNotFound { .. } | HubError::NoSuchCall(_) => "not_found",
            HubError::CodeUnknown | HubError::CodeUsed { .. } | HubError::CodeExpired { .. } => "code_unknown",
            HubError::NotEnrolled(_) => "forbidden",
            HubError::Open { .. }
            | HubError::Db(_)
            | HubError::NoPostgres
            | HubError::SchemaTooNew { .. }
            | HubError::Io(_) => "unavailable",
        }
    }

    /// The HTTP status of the error.
    pub fn status(&self) -> u16 {
        match self.code() {
            "unauthorized" => 401,
            "forbidden" => 403,
            "update_required" => 426,
            "bad_request" => 400,
            "payload_too_large" => 413,
            "not_found" => 404,
            "code_unknown" => 403,
            _ => 503,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code().into(),
            message: self.to_string(),
            message_zh: self.message_zh(),
            min_schema_version: match self {
                HubError::UpdateRequired { min, .. } => Some(*min),
                _ => None,
            },
        }
    }
}

fn outbox_zh(e: &lotline_protocol::OutboxFileError) -> String {
    use lotline_protocol::OutboxFileError as E;
    match e {
        E::Format(f) => format!("不是 lotline 待发送文件（其格式为“{f}”）"),
        E::Version { found, max } => format!("协议版本 {found}，此版本最高读取 {max}：请升级"),
        E::OtherDevice { seq, found, expected } => format!("命令 {seq} 来自设备 {found}，文件属于设备 {expected}"),
        E::Gap { after, next } => format!("命令顺序错乱或有缺口：{after} 之后是 {next}"),
    }
}
