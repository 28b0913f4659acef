// A pty pair's state from the manifest (a master's shared entry: SharedFileImage
// "pty".pair, written by dump_pty.cc) as the keeper's child takes it
// (pty_image.h, made again by keeper_pty.c); range-checked: the image is untrusted.
#include <termios.h>

#include <cstring>
#include <stdexcept>

#include "core/plan_builder.h"
#include "resources/pty/pty_image.h"

namespace vdomain {

using namespace plan;

std::vector<uint8_t> packPtyImage(const Napi::Object& pty) {
  if (!pty.Get("pair").IsObject()) throw std::runtime_error("manifest: a pty master without its pair's state");
  const Napi::Object pair = pty.Get("pair").As<Napi::Object>();
  vd_pty_image im{};
  im.magic = VD_PTY_MAGIC;
  im.index = (uint32_t)numIn(pty, "index", 0, 1 << 20);
  im.locked = pair.Get("locked").ToBoolean().Value();
  im.packet = pair.Get("packet").ToBoolean().Value();
  im.rows = (uint16_t)numIn(pair, "rows", 0, 0xffff);
  im.cols = (uint16_t)numIn(pair, "cols", 0, 0xffff);
  im.xpixel = (uint16_t)numIn(pair, "xpixel", 0, 0xffff);
  im.ypixel = (uint16_t)numIn(pair, "ypixel", 0, 0xffff);
  im.slave_mode = (uint32_t)numIn(pair, "mode", 0, 07777);
  im.slave_uid = (uint32_t)numIn(pair, "uid", 0, 0xfffffffe);
  im.slave_gid = (uint32_t)numIn(pair, "gid", 0, 0xfffffffe);
  const std::string tio = fromBase64(strOf(pair.Get("termios"), "termios"));
  if (tio.size() != sizeof im.termios) throw std::runtime_error("manifest: a pty's termios of the wrong size");
  memcpy(&im.termios, tio.data(), sizeof im.termios);
  std::string body;
  Napi::Array input = arrOf(pair.Get("input"), "input");
  static const char* const kEnds[] = {"line", "eof", "partial", "raw"};
  for (uint32_t i = 0; i < input.Length(); i++) {
    if (!input.Get(i).IsObject()) throw std::runtime_error("manifest: a pty's input chunk is not an object");
    const Napi::Object c = input.Get(i).As<Napi::Object>();
    const std::string end = strOf(c.Get("end"), "end"), data = fromBase64(strOf(c.Get("data"), "data"));
    vd_pty_chunk h{(uint32_t)data.size(), 4};
    for (uint32_t k = 0; k < 4; k++)
      if (end == kEnds[k]) h.end = k;
    if (h.end > VD_PTY_RAW) throw std::runtime_error("manifest: a pty's input chunk of an unknown end");
    body.append(reinterpret_cast<const char*>(&h), sizeof h).append(data);
  }
  im.nr_chunks = input.Length();
  const std::string output = fromBase64(strOf(pair.Get("output"), "output"));
  im.output_len = (uint32_t)output.size();
  if (body.size() + output.size() > VD_PTY_MAX_BYTES) throw std::runtime_error("manifest: a pty holding too many bytes");
  std::vector<uint8_t> out(sizeof im + body.size() + output.size());
  memcpy(out.data(), &im, sizeof im);
  memcpy(out.data() + sizeof im, body.data(), body.size());
  memcpy(out.data() + sizeof im + body.size(), output.data(), output.size());
  return out;
}

}  // namespace vdomain
