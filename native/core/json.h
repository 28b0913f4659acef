// A minimal JSON writer: the dumper describes what it saw as JSON text, which
// JavaScript parses into the manifest (supervisor/manifest.ts).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace vdomain {

class Json {
 public:
  Json& beginObject() { sep(); out_ += '{'; first_ = true; return *this; }
  Json& endObject() { out_ += '}'; first_ = false; return *this; }
  Json& beginArray() { sep(); out_ += '['; first_ = true; return *this; }
  Json& endArray() { out_ += ']'; first_ = false; return *this; }
  Json& key(const char* k) {
    sep();
    quote(k);
    out_ += ':';
    first_ = true;  // the value follows without a comma
    return *this;
  }
  Json& num(double v) {
    sep();
    char b[40];
    snprintf(b, sizeof b, "%.17g", v);
    out_ += b;
    return *this;
  }
  Json& num(unsigned long v) { return num((double)v); }
  Json& num(long v) { return num((double)v); }
  Json& num(int v) { return num((double)v); }
  Json& num(unsigned v) { return num((double)v); }
  Json& num(long long v) { return num((double)v); }
  Json& num(unsigned long long v) { return num((double)v); }
  Json& boolean(bool v) { sep(); out_ += v ? "true" : "false"; return *this; }
  Json& null() { sep(); out_ += "null"; return *this; }
  Json& raw(const std::string& json) { sep(); out_ += json; return *this; }  // a value written by another Json
  Json& str(const std::string& s) { sep(); quote(s); return *this; }
  Json& hex(uint64_t v) {
    char b[24];
    snprintf(b, sizeof b, "%llx", (unsigned long long)v);
    return str(b);
  }
  Json& dec(uint64_t v) {
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return str(b);
  }
  Json& base64(const void* data, size_t len);
  template <class T>
  Json& field(const char* k, const T& v) { key(k); return value(v); }
  const std::string& text() const { return out_; }

 private:
  Json& value(const std::string& s) { return str(s); }
  Json& value(const char* s) { return str(s); }
  Json& value(bool b) { return boolean(b); }
  template <class T>
  Json& value(T v) { return num(v); }
  void sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void quote(const std::string& s) {
    out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') { out_ += '\\'; out_ += (char)c; }
      else if (c < 0x20) {
        char b[8];
        snprintf(b, sizeof b, "\\u%04x", c);
        out_ += b;
      } else out_ += (char)c;
    }
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

inline Json& Json::base64(const void* data, size_t len) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char* p = static_cast<const unsigned char*>(data);
  std::string s;
  s.reserve((len + 2) / 3 * 4);
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
    s += tbl[v >> 18 & 63];
    s += tbl[v >> 12 & 63];
    s += i + 1 < len ? tbl[v >> 6 & 63] : '=';
    s += i + 2 < len ? tbl[v & 63] : '=';
  }
  return str(s);
}

}  // namespace vdomain
