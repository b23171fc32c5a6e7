//! Just enough HTTP/1.1 for a local Lambda Runtime API and a few calls to moto: request/response
//! heads, `Content-Length` and chunked bodies, keep-alive on the server side, `Connection: close`
//! on the client side.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Bodies above this are refused (the Runtime API caps responses at 6 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// One CRLF- (or LF-) terminated line without its terminator; `None` at a clean end of stream.
fn read_line(r: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.take(MAX_LINE as u64 + 2).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(invalid("line too long or truncated"));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf).map(Some).map_err(|_| invalid("line is not UTF-8"))
}

fn read_headers(r: &mut impl BufRead) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| invalid("end of stream inside the headers"))?;
        if line.is_empty() {
            return Ok(headers);
        }
        if headers.len() >= MAX_HEADERS {
            return Err(invalid("too many headers"));
        }
        let (name, value) = line.split_once(':').ok_or_else(|| invalid(format!("bad header line: {line}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
}

/// Reads a body framed by `Transfer-Encoding: chunked` or `Content-Length`; with neither, an
/// empty body for requests (`until_eof = false`) or everything up to EOF for responses.
fn read_body(r: &mut impl BufRead, headers: &[(String, String)], until_eof: bool) -> io::Result<Vec<u8>> {
    if header(headers, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line = read_line(r)?.ok_or_else(|| invalid("end of stream inside a chunked body"))?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| invalid(format!("bad chunk size: {line}")))?;
            if size == 0 {
                // Trailers, then the blank line.
                read_headers(r)?;
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                return Err(invalid("body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(body.get_mut(start..).ok_or_else(|| invalid("chunk"))?)?;
            read_line(r)?;
        }
    }
    match header(headers, "content-length") {
        Some(len) => {
            let len: usize = len.parse().map_err(|_| invalid(format!("bad Content-Length: {len}")))?;
            if len > MAX_BODY {
                return Err(invalid("body too large"));
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body)?;
            Ok(body)
        }
        None if until_eof => {
            let mut body = Vec::new();
            r.take(MAX_BODY as u64).read_to_end(&mut body)?;
            Ok(body)
        }
        None => Ok(Vec::new()),
    }
}

/// The next request on a keep-alive connection; `None` when the peer closed it between requests.
pub fn read_request(r: &mut impl BufRead) -> io::Result<Option<Request>> {
    let line = loop {
        match read_line(r)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(_version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(format!("bad request line: {line}")));
    };
    let (method, path) = (method.to_string(), path.to_string());
    let headers = read_headers(r)?;
    let body = read_body(r, &headers, false)?;
    Ok(Some(Request { method, path, headers, body }))
}

/// Writes a complete response with a `Content-Length` body (the connection stays open).
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    reason: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n", body.len());
    if !body.is_empty() {
        head.push_str("content-type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

/// The `host:port` of a plain `http://` endpoint such as `http://127.0.0.1:5000`.
pub fn authority(endpoint: &str) -> io::Result<&str> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("only plain http:// endpoints are supported: {endpoint}")))?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err(invalid(format!("no host in endpoint {endpoint}")));
    }
    Ok(authority)
}

/// One request over a fresh connection (`Connection: close`): returns the status and the body.
pub fn call(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<(u16, Vec<u8>)> {
    let authority = authority(endpoint)?;
    let addr = authority.to_socket_addrs()?.next().ok_or_else(|| invalid(format!("{authority} does not resolve")))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    (&stream).write_all(&out)?;
    let mut r = BufReader::new(&stream);
    let status_line = read_line(&mut r)?.ok_or_else(|| invalid("empty response"))?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line: {status_line}")))?;
    let headers = read_headers(&mut r)?;
    let body = read_body(&mut r, &headers, true)?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keep_alive_requests_with_both_framings() {
        let raw = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
GET /b HTTP/1.1\r\nHost: x\r\n\r\n\
POST /c HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\n\r\n";
        let mut r = io::BufReader::new(&raw[..]);
        let a = read_request(&mut r).unwrap().unwrap();
        assert_eq!((a.method.as_str(), a.path.as_str(), a.body.as_slice()), ("POST", "/a", &b"abc"[..]));
        assert_eq!(a.header("content-length"), Some("3"));
        let b = read_request(&mut r).unwrap().unwrap();
        assert_eq!((b.method.as_str(), b.path.as_str(), b.body.len()), ("GET", "/b", 0));
        let c = read_request(&mut r).unwrap().unwrap();
        assert_eq!(c.body, b"hello");
        assert!(read_request(&mut r).unwrap().is_none());
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        for raw in
            [&b"GET\r\n\r\n"[..], b"GET / HTTP/1.1\r\nno-colon\r\n\r\n", b"GET / HTTP/1.1\r\ncontent-length: x\r\n\r\n"]
        {
            assert!(read_request(&mut io::BufReader::new(raw)).is_err());
        }
    }

    #[test]
    fn authority_of_an_endpoint() {
        assert_eq!(authority("http://127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert_eq!(authority("http://localhost:1/x").unwrap(), "localhost:1");
        assert!(authority("https://example.com").is_err());
    }
}
