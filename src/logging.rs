//! Log output: env_logger's text lines, each ending with the request id of
//! the request that caused it (`rid=…`), when there is one.

use std::io::Write;

pub fn init() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let timestamp = buf.timestamp();
            let level = record.level();
            let style = buf.default_level_style(level);
            write!(
                buf,
                "[{timestamp} {style}{level:<5}{style:#} {}] {}",
                record.target(),
                record.args()
            )?;
            // The access log writes its own (it logs after the request).
            let id = crate::http::request_id::current()
                .filter(|_| record.target() != "actix_web::middleware::logger");
            match id {
                Some(id) => writeln!(buf, " rid={id}"),
                None => writeln!(buf),
            }
        })
        .init();
}
