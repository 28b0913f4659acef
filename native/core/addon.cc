// The N-API binding: thin. JavaScript starts a domain, hears its lifecycle events
// and asks for the PID table; it never sees a single syscall.
#include <napi.h>
#include <sys/socket.h>

#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <unistd.h>
#include <mutex>
#include <system_error>

#include "core/checksum.h"
#include "core/plan_builder.h"
#include "core/domain.h"

namespace {

// A CRC-32C as the manifest writes it: 8 lowercase hex digits.
std::string crcHex(uint32_t crc) {
  char hex[9];
  snprintf(hex, sizeof hex, "%08x", crc);
  return hex;
}

using vdomain::Domain;
using vdomain::DomainConfig;
using vdomain::Event;

std::string str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

vdomain::RuleSet parseRules(const Napi::Array& rows) {
  vdomain::RuleSet set;
  for (uint32_t i = 0; i < rows.Length(); i++) {
    Napi::Object row = rows.Get(i).As<Napi::Object>();
    vdomain::Rule r;
    r.name = str(row, "name");
    r.nr = row.Get("nr").As<Napi::Number>().Int32Value();
    r.how = vdomain::parseHow(str(row, "how"));
    r.answer = vdomain::parseAnswer(str(row, "answer"));
    if (row.Get("args").IsObject()) {
      Napi::Object args = row.Get("args").As<Napi::Object>();
      for (int a = 0; a < 6; a++) {
        Napi::Value k = args.Get(std::to_string(a));
        if (k.IsString()) r.args[a] = vdomain::parseArgKind(k.As<Napi::String>().Utf8Value());
      }
    }
    r.result = vdomain::parseResultKind(str(row, "result"));
    r.out = row.Get("out").IsNumber() ? row.Get("out").As<Napi::Number>().Int32Value() : -1;
    r.reaps = row.Get("reaps").ToBoolean().Value();
    if (r.nr >= 0 && r.nr < (int)set.byNr.size()) set.byNr[r.nr] = (int)set.rules.size();
    set.rules.push_back(r);
  }
  return set;
}

// A task's registers as JavaScript hands them over: regs and xstate buffers, sigmask in hex.
bool readRegisters(const Napi::Object& o, vdomain::TaskRegisters& out) {
  Napi::Buffer<uint8_t> regs = o.Get("regs").As<Napi::Buffer<uint8_t>>();
  if (regs.Length() != sizeof out.regs) return false;
  memcpy(&out.regs, regs.Data(), regs.Length());
  Napi::Buffer<uint8_t> xs = o.Get("xstate").As<Napi::Buffer<uint8_t>>();
  out.xstate.assign(reinterpret_cast<const char*>(xs.Data()), xs.Length());
  out.sigmask = strtoull(o.Get("sigmask").As<Napi::String>().Utf8Value().c_str(), nullptr, 16);
  return true;
}

class DomainWrap : public Napi::ObjectWrap<DomainWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Domain",
                       {InstanceMethod("start", &DomainWrap::Start),
                        InstanceMethod("startAsync", &DomainWrap::StartAsync),
                        InstanceMethod("abortRestore", &DomainWrap::AbortRestore),
                        InstanceMethod("virtualize", &DomainWrap::Virtualize),
                        InstanceMethod("terminate", &DomainWrap::Terminate),
                        InstanceMethod("checkpoint", &DomainWrap::Checkpoint),
                        InstanceMethod("release", &DomainWrap::Release),
                        InstanceMethod("close", &DomainWrap::Close),
                        InstanceAccessor("rootPid", &DomainWrap::RootPid, nullptr),
                        InstanceAccessor("rootVirt", &DomainWrap::RootVirt, nullptr),
                        InstanceAccessor("keeperPid", &DomainWrap::KeeperPid, nullptr),
                        InstanceAccessor("ownIpc", &DomainWrap::OwnIpc, nullptr),
                        InstanceAccessor("identity", &DomainWrap::Identity, nullptr)});
  }

  // The Domain is never freed: its native threads may still be finishing (the
  // tracer logging its end, the notify thread seeing POLLHUP) when node tears the
  // wrapper down at exit, and freeing it under them aborted the process.
  ~DomainWrap() override { (void)domain_.release(); }

  explicit DomainWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DomainWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object o = info[0].As<Napi::Object>();
    DomainConfig cfg;
    cfg.keeperPath = str(o, "keeper");
    Napi::Array argv = o.Get("argv").As<Napi::Array>();
    for (uint32_t i = 0; i < argv.Length(); i++) cfg.argv.push_back(argv.Get(i).As<Napi::String>().Utf8Value());
    Napi::Buffer<uint8_t> filter = o.Get("filter").As<Napi::Buffer<uint8_t>>();
    cfg.filter.assign(filter.Data(), filter.Data() + filter.Length());
    try {
      cfg.rules = parseRules(o.Get("rules").As<Napi::Array>());
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
      return;
    }
    cfg.vpidBase = o.Get("vpidBase").As<Napi::Number>().Int32Value();
    cfg.noNewPrivs = geteuid() != 0;
    cfg.hostIpc = o.Get("hostIpc").ToBoolean().Value();
    if (o.Get("inherited").IsArray()) {
      Napi::Array in = o.Get("inherited").As<Napi::Array>();
      for (uint32_t i = 0; i < in.Length(); i++) cfg.inherited.push_back(in.Get(i).As<Napi::Number>().Int32Value());
    }
    if (o.Get("sysvFile").IsString()) cfg.sysvFile = str(o, "sysvFile");
    if (o.Get("restore").IsObject()) {
      Napi::Object r = o.Get("restore").As<Napi::Object>();
      auto rc = std::make_unique<vdomain::RestoreConfig>();
      rc->nextVpid = r.Get("nextVpid").As<Napi::Number>().Int32Value();
      Napi::Array procs = r.Get("processes").As<Napi::Array>();
      for (uint32_t i = 0; i < procs.Length(); i++) {
        Napi::Object o = procs.Get(i).As<Napi::Object>();
        vdomain::RestoredProcess p;
        auto num = [&o](const char* k) { return o.Get(k).As<Napi::Number>().Int32Value(); };
        p.vpid = num("vpid");
        p.parent = num("parent");
        p.groupOf = num("groupOf");
        p.setsid = o.Get("setsid").ToBoolean();
        p.zombie = o.Get("zombie").ToBoolean();
        p.status = num("status");
        p.ctty = o.Get("ctty").IsNumber() ? num("ctty") : -1;
        p.ttyForeground = o.Get("ttyForeground").IsNumber() ? num("ttyForeground") : -1;
        if (!p.zombie) {
          Napi::Buffer<uint8_t> plan = o.Get("plan").As<Napi::Buffer<uint8_t>>();
          p.plan.assign(plan.Data(), plan.Data() + plan.Length());
          p.pagesFd = num("pagesFd");
          if (!readRegisters(o, p.regs)) {
            Napi::Error::New(env, "image: registers of the wrong size").ThrowAsJavaScriptException();
            return;
          }
          Napi::Value threads = o.Get("threads");
          for (uint32_t k = 0; threads.IsArray() && k < threads.As<Napi::Array>().Length(); k++) {
            Napi::Object t = threads.As<Napi::Array>().Get(k).As<Napi::Object>();
            vdomain::RestoredProcess::Thread th;
            th.vtid = t.Get("vtid").As<Napi::Number>().Int32Value();
            th.clearChildTid = (uint64_t)t.Get("clearChildTid").As<Napi::Number>().Int64Value();
            if (!readRegisters(t, th.regs)) {
              Napi::Error::New(env, "image: registers of the wrong size").ThrowAsJavaScriptException();
              return;
            }
            p.threads.push_back(std::move(th));
          }
        }
        rc->procs.push_back(std::move(p));
      }
      if (r.Get("terminal").IsObject()) {
        Napi::Object t = r.Get("terminal").As<Napi::Object>();
        rc->terminal.stdio = t.Get("stdio").As<Napi::Number>().Int32Value();
        Napi::Buffer<char> tio = t.Get("termios").As<Napi::Buffer<char>>();
        rc->terminal.termios.assign(tio.Data(), tio.Length());
        rc->terminal.foreground = t.Get("foreground").As<Napi::Number>().Int32Value();
        if (t.Get("rows").IsNumber()) rc->terminal.rows = (unsigned short)t.Get("rows").As<Napi::Number>().Uint32Value();
        if (t.Get("cols").IsNumber()) rc->terminal.cols = (unsigned short)t.Get("cols").As<Napi::Number>().Uint32Value();
      }
      Napi::Array shared = r.Get("shared").As<Napi::Array>();
      for (uint32_t i = 0; i < shared.Length(); i++) {
        Napi::Object o = shared.Get(i).As<Napi::Object>();
        vdomain::SharedFile f;
        f.pipe = str(o, "kind") == "pipe";
        f.flags = o.Get("flags").As<Napi::Number>().Uint32Value();
        f.pos = (uint64_t)o.Get("pos").As<Napi::Number>().Int64Value();
        if (str(o, "kind") == "pty") {
          const Napi::Object pty = o.Get("pty").As<Napi::Object>();
          f.pty = true;
          f.pipeId = pty.Get("index").As<Napi::Number>().Uint32Value();
          f.writeEnd = pty.Get("master").ToBoolean().Value();
          try {
            if (f.writeEnd) f.data = vdomain::packPtyImage(pty);
          } catch (const std::exception& e) {
            Napi::Error::New(env, std::string("image: ") + e.what()).ThrowAsJavaScriptException();
            return;
          }
        } else if (f.pipe) {
          f.pipeId = (uint64_t)o.Get("pipe").As<Napi::Number>().Int64Value();
          f.writeEnd = str(o, "end") == "w";
          f.pipeSize = o.Get("pipeSize").IsNumber() ? o.Get("pipeSize").As<Napi::Number>().Int32Value() : 0;
          if (o.Get("fifo").IsString()) f.path = str(o, "fifo");
          if (o.Get("data").IsBuffer()) {
            Napi::Buffer<uint8_t> d = o.Get("data").As<Napi::Buffer<uint8_t>>();
            f.data.assign(d.Data(), d.Data() + d.Length());
          }
        } else {
          f.mqueue = str(o, "kind") == "mqueue";
          f.path = str(o, f.mqueue ? "name" : "path");
          f.deleted = str(o, "kind") == "deleted";
          if (f.deleted) {
            f.contentProc = o.Get("contentProc").As<Napi::Number>().Int32Value();
            f.contentOff = (uint64_t)o.Get("contentOff").As<Napi::Number>().Int64Value();
            f.contentLen = (uint64_t)o.Get("contentLen").As<Napi::Number>().Int64Value();
            f.shape = vdomain::deletedFile(o, f.contentLen);
          }
        }
        rc->shared.push_back(std::move(f));
      }
      cfg.restore = std::move(rc);
    }
    events_ = std::make_shared<Events>();
    events_->tsfn = Napi::ThreadSafeFunction::New(env, o.Get("onEvent").As<Napi::Function>(), "vdomain-events", 0, 1);
    auto events = events_;
    domain_ = std::make_unique<Domain>(std::move(cfg), [events](Event e) {
      // native threads may still report after JavaScript closed the domain
      std::lock_guard<std::mutex> g(events->mu);
      if (!events->open) return;
      auto* heap = new Event(std::move(e));
      napi_status s = events->tsfn.BlockingCall(heap, [](Napi::Env env, Napi::Function fn, Event* ev) {
        fn.Call({Napi::String::New(env, ev->type), Napi::Number::New(env, (double)ev->a),
                 Napi::Number::New(env, (double)ev->b), Napi::String::New(env, ev->text)});
        delete ev;
      });
      if (s != napi_ok) delete heap;
    });
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto fail = [&](const std::system_error& e, bool exec) {
      Napi::Error err = Napi::Error::New(env, e.what());
      err.Set("errno", Napi::Number::New(env, e.code().value()));
      err.Set("exec", Napi::Boolean::New(env, exec));
      err.ThrowAsJavaScriptException();
    };
    try {
      domain_->start();
    } catch (const vdomain::ExecError& e) {
      fail(e, true);
    } catch (const std::system_error& e) {
      fail(e, false);
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // start() on a thread of its own → Promise: a restore can take long, and the
  // restore command must still answer SIGTERM/SIGINT meanwhile (abortRestore).
  // Rejected with the same error start() throws; once the restore was aborted,
  // its message is the abort's reason.
  Napi::Value StartAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = std::make_shared<Napi::Promise::Deferred>(env);
    auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                              "vdomain-start", 0, 1);
    Domain* d = domain_.get();
    std::thread([tsfn, deferred, d]() mutable {
      struct Outcome {
        bool ok = true, exec = false;
        int err = 0;
        std::string message;
      };
      auto* out = new Outcome;
      auto failed = [&](const char* what, int err, bool exec) {
        out->ok = false;
        out->message = what;
        out->err = err;
        out->exec = exec;
        const std::string reason = d->abortReason();
        if (!reason.empty()) out->message = reason;
      };
      try {
        d->start();
      } catch (const vdomain::ExecError& e) {
        failed(e.what(), e.code().value(), true);
      } catch (const std::system_error& e) {
        failed(e.what(), e.code().value(), false);
      } catch (const std::exception& e) {
        failed(e.what(), 0, false);
      }
      tsfn.BlockingCall(out, [deferred](Napi::Env env, Napi::Function, Outcome* o) {
        if (o->ok) {
          deferred->Resolve(env.Undefined());
        } else {
          Napi::Error err = Napi::Error::New(env, o->message);
          err.Set("errno", Napi::Number::New(env, o->err));
          err.Set("exec", Napi::Boolean::New(env, o->exec));
          deferred->Reject(err.Value());
        }
        delete o;
      });
      tsfn.Release();
    }).detach();
    return deferred->Promise();
  }

  Napi::Value AbortRestore(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), domain_->abortRestore(info[0].As<Napi::String>().Utf8Value()));
  }

  // real PIDs → the virtual PIDs the job sees (0: not of this domain)
  Napi::Value Virtualize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array in = info[0].As<Napi::Array>();
    Napi::Array out = Napi::Array::New(env, in.Length());
    for (uint32_t i = 0; i < in.Length(); i++) {
      pid_t real = in.Get(i).As<Napi::Number>().Int32Value();
      out.Set(i, Napi::Number::New(env, domain_->table().toVirt(real)));
    }
    return out;
  }

  // checkpoint({dir, processes: [{real, vpid, vppid, vpgid, vsid}], hold}) → Promise of
  // {ok, error, unsupported[], processesJson, files[{name,size,crc32c}], frozenMs, dumpMs, freezeAtMs}
  Napi::Value Checkpoint(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = info[0].As<Napi::Object>();
    auto job = std::make_shared<vdomain::CheckpointJob>();
    job->req.dir = str(o, "dir");
    job->req.hold = o.Get("hold").ToBoolean().Value();
    job->req.stdioPid = domain_->keeperPid();
    Napi::Array procs = o.Get("processes").As<Napi::Array>();
    for (uint32_t i = 0; i < procs.Length(); i++) {
      Napi::Object p = procs.Get(i).As<Napi::Object>();
      auto n = [&](const char* k) { return (pid_t)p.Get(k).As<Napi::Number>().Int32Value(); };
      job->req.processes.push_back({n("real"), n("vpid"), n("vppid"), n("vpgid"), n("vsid")});
    }

    auto deferred = std::make_shared<Napi::Promise::Deferred>(env);
    auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                              "vdomain-checkpoint", 0, 1);
    held_ = job->req.hold ? job : nullptr;
    auto result = std::make_shared<std::future<vdomain::CheckpointResult>>(job->result.get_future());
    domain_->checkpoint(job);
    std::thread([tsfn, deferred, result]() mutable {
      auto* res = new vdomain::CheckpointResult(result->get());
      tsfn.BlockingCall(res, [deferred](Napi::Env env, Napi::Function, vdomain::CheckpointResult* r) {
        Napi::Object out = Napi::Object::New(env);
        out.Set("ok", r->ok);
        out.Set("error", r->error);
        auto ids = [&](const vdomain::ProcessIds& p) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("real", p.real);
          o.Set("vpid", p.vpid);
          o.Set("vppid", p.vppid);
          o.Set("vpgid", p.vpgid);
          o.Set("vsid", p.vsid);
          return o;
        };
        Napi::Array procs = Napi::Array::New(env, r->processes.size());
        for (size_t i = 0; i < r->processes.size(); i++) procs.Set(i, ids(r->processes[i]));
        out.Set("processes", procs);
        Napi::Array zombies = Napi::Array::New(env, r->zombies.size());
        for (size_t i = 0; i < r->zombies.size(); i++) {
          Napi::Object z = ids(r->zombies[i].ids);
          z.Set("comm", r->zombies[i].comm);
          z.Set("status", r->zombies[i].status);
          zombies.Set(i, z);
        }
        out.Set("zombies", zombies);
        Napi::Array un = Napi::Array::New(env, r->unsupported.size());
        for (size_t i = 0; i < r->unsupported.size(); i++) un.Set(i, r->unsupported[i]);
        out.Set("unsupported", un);
        out.Set("processesJson", r->processesJson);
        out.Set("sysvJson", r->sysvJson);
        Napi::Array files = Napi::Array::New(env, r->files.size());
        for (size_t i = 0; i < r->files.size(); i++) {
          Napi::Object f = Napi::Object::New(env);
          f.Set("name", r->files[i].name);
          f.Set("size", (double)r->files[i].size);
          f.Set("crc32c", crcHex(r->files[i].crc));
          files.Set(i, f);
        }
        out.Set("files", files);
        out.Set("frozenMs", r->frozenMs);
        out.Set("dumpMs", r->dumpMs);
        out.Set("freezeAtMs", r->freezeAtMs);
        if (r->terminal.stdio >= 0) {
          Napi::Object t = Napi::Object::New(env);
          t.Set("stdio", r->terminal.stdio);
          t.Set("termios", Napi::Buffer<char>::Copy(env, r->terminal.termios.data(), r->terminal.termios.size()));
          t.Set("foreground", r->terminal.foreground);
          t.Set("rows", r->terminal.rows);
          t.Set("cols", r->terminal.cols);
          out.Set("terminal", t);
        }
        deferred->Resolve(out);
        delete r;
      });
      tsfn.Release();
    }).detach();
    return deferred->Promise();
  }

  // After a checkpoint with hold: the job goes on (false) or is killed (true).
  Napi::Value Release(const Napi::CallbackInfo& info) {
    bool kill = info[0].ToBoolean().Value();
    if (held_) {
      held_->release.set_value(kill);
      held_.reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value Terminate(const Napi::CallbackInfo& info) {
    domain_->terminate();
    return info.Env().Undefined();
  }

  // After "empty": let node exit.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> g(events_->mu);
    if (events_->open) {
      events_->open = false;
      events_->tsfn.Release();
    }
    return info.Env().Undefined();
  }

  Napi::Value RootPid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), domain_->rootPid()); }
  Napi::Value RootVirt(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), domain_->rootVirt()); }
  Napi::Value Identity(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), domain_->identity()); }
  Napi::Value KeeperPid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), domain_->keeperPid()); }
  Napi::Value OwnIpc(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), domain_->ownIpc()); }

  struct Events {
    std::mutex mu;
    bool open = true;
    Napi::ThreadSafeFunction tsfn;
  };
  std::shared_ptr<Events> events_;
  std::unique_ptr<Domain> domain_;
  std::shared_ptr<vdomain::CheckpointJob> held_;
};

// Credentials of the peer of a connected Unix socket (node has no API for it).
Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", cred.pid);
  o.Set("uid", cred.uid);
  o.Set("gid", cred.gid);
  return o;
}

// CRC-32C of a file: {size, crc32c: "8 hex digits"}; throws with the errno text.
Napi::Value ChecksumFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  uint32_t crc = 0;
  uint64_t size = 0;
  if (!vdomain::crc32cFile(path, crc, size)) {
    Napi::Error err = Napi::Error::New(env, path + ": " + strerror(errno));
    err.Set("errno", Napi::Number::New(env, errno));
    throw err;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, (double)size));
  o.Set("crc32c", Napi::String::New(env, crcHex(crc)));
  return o;
}

// CRC-32C of a buffer, as 8 hex digits.
Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  return Napi::String::New(info.Env(), crcHex(vdomain::crc32c(0, b.Data(), b.Length())));
}

// SHA-256 of a buffer, 64 hex digits (the image manifest's checksum).
Napi::Value Sha256(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> b = info[0].As<Napi::Buffer<uint8_t>>();
  return Napi::String::New(info.Env(), vdomain::sha256Hex(b.Data(), b.Length()));
}

// The restorer's binary plan for one process of a verified manifest.
Napi::Value BuildPlan(const Napi::CallbackInfo& info) {
  try {
    std::vector<uint8_t> plan = vdomain::buildPlan(info[0].As<Napi::Object>());
    return Napi::Buffer<uint8_t>::Copy(info.Env(), plan.data(), plan.size());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildPlan", Napi::Function::New(env, BuildPlan));
  exports.Set("checksumFile", Napi::Function::New(env, ChecksumFile));
  exports.Set("crc32c", Napi::Function::New(env, Crc32c));
  exports.Set("sha256", Napi::Function::New(env, Sha256));
  // the kinds of fd of the kinds table (native/resources/kinds.h), for the manifest's check
  Napi::Array fdKinds = Napi::Array::New(env);
#define VD_FD_KIND_NAME(name) fdKinds.Set(fdKinds.Length(), #name);
  VD_FD_KINDS(VD_FD_KIND_NAME)
#undef VD_FD_KIND_NAME
  exports.Set("fdKinds", fdKinds);
  // and the process kinds, whose states a process's "kinds" holds
  Napi::Array processKinds = Napi::Array::New(env);
#define VD_PROCESS_KIND_NAME(name, text) processKinds.Set(processKinds.Length(), #name);
  VD_PROCESS_KINDS(VD_PROCESS_KIND_NAME)
#undef VD_PROCESS_KIND_NAME
  exports.Set("processKinds", processKinds);
  exports.Set("Domain", DomainWrap::Define(env));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred));
  return exports;
}

}  // namespace

NODE_API_MODULE(vdomain_native, Init)
