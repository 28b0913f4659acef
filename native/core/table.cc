#include "core/table.h"

#include <signal.h>

namespace vdomain {

pid_t PidTable::allocVirt() {
  for (;;) {
    pid_t v = next_++;
    if (next_ >= kPidLimit) next_ = base_;
    if (!virtToReal_.count(v)) return v;
  }
}

pid_t PidTable::add(pid_t real, pid_t realTgid) {
  std::lock_guard<std::mutex> g(mu);
  auto it = byReal_.find(real);
  if (it != byReal_.end() && it->second.state != State::Reaped) return it->second.virt;
  if (it != byReal_.end()) byReal_.erase(it);  // a recycled real PID: forget the ghost
  pid_t v = identity() ? real : allocVirt();
  byReal_[real] = Task{real, v, realTgid, State::Alive};
  virtToReal_[v] = real;
  return v;
}

void PidTable::addWithVirt(pid_t real, pid_t realTgid, pid_t virt) {
  std::lock_guard<std::mutex> g(mu);
  byReal_[real] = Task{real, virt, realTgid, State::Alive};
  virtToReal_[virt] = real;
}

pid_t PidTable::toVirtLocked(pid_t real) {
  if (identity()) return real;
  auto it = byReal_.find(real);
  return it == byReal_.end() ? 0 : it->second.virt;
}

pid_t PidTable::toVirt(pid_t real) {
  std::lock_guard<std::mutex> g(mu);
  return toVirtLocked(real);
}

pid_t PidTable::toReal(pid_t virt) {
  if (identity()) return virt;
  std::lock_guard<std::mutex> g(mu);
  auto it = virtToReal_.find(virt);
  if (it != virtToReal_.end()) return it->second;
  auto member = byReal_.find(virt);
  if (member != byReal_.end() && member->second.state != State::Reaped) return kNoSuchPid;
  return virt;
}

pid_t PidTable::processVirt(pid_t realTid) {
  std::lock_guard<std::mutex> g(mu);
  auto it = byReal_.find(realTid);
  if (it == byReal_.end()) return identity() ? realTid : 0;
  return toVirtLocked(it->second.realTgid);
}

bool PidTable::isOwnThread(pid_t caller, pid_t real) {
  std::lock_guard<std::mutex> g(mu);
  auto c = byReal_.find(caller), r = byReal_.find(real);
  if (c == byReal_.end() || r == byReal_.end() || r->second.state != State::Alive) return false;
  if (virtToReal_.count(real)) return false;  // the number is a virtual TID: that wins
  return c->second.realTgid == r->second.realTgid;
}

pid_t PidTable::tgidOf(pid_t realTid) {
  std::lock_guard<std::mutex> g(mu);
  auto it = byReal_.find(realTid);
  return it == byReal_.end() ? 0 : it->second.realTgid;
}

void PidTable::dropVirtIfUnused(const Task& t) {
  // A PID stays in use as long as a process group carries it (the kernel keeps
  // the number reserved too); kill(-pgid, 0) asks the kernel.
  if (kill(-t.real, 0) == 0) {
    lingering_.push_back(t.real);
    return;
  }
  auto v = virtToReal_.find(t.virt);
  if (v != virtToReal_.end() && v->second == t.real) virtToReal_.erase(v);
}

void PidTable::collectGhosts() {
  std::vector<pid_t> still;
  for (pid_t r : lingering_) {
    auto it = byReal_.find(r);
    if (it == byReal_.end() || it->second.state != State::Reaped) continue;
    if (kill(-r, 0) == 0) {
      still.push_back(r);
      continue;
    }
    auto v = virtToReal_.find(it->second.virt);
    if (v != virtToReal_.end() && v->second == r) virtToReal_.erase(v);
  }
  lingering_.swap(still);
  while (ghosts_.size() > 4096) {
    auto it = byReal_.find(ghosts_.front());
    if (it != byReal_.end() && it->second.state == State::Reaped) byReal_.erase(it);
    ghosts_.pop_front();
  }
}

void PidTable::exited(pid_t realTid) {
  std::lock_guard<std::mutex> g(mu);
  auto it = byReal_.find(realTid);
  if (it == byReal_.end()) return;
  if (it->second.realTgid != realTid) {
    // threads are never waited for: gone at once
    auto v = virtToReal_.find(it->second.virt);
    if (v != virtToReal_.end() && v->second == realTid) virtToReal_.erase(v);
    byReal_.erase(it);
    return;
  }
  if (it->second.state == State::Alive) it->second.state = State::Zombie;
}

void PidTable::reaped(pid_t real) {
  std::lock_guard<std::mutex> g(mu);
  auto it = byReal_.find(real);
  if (it == byReal_.end() || it->second.state == State::Reaped) return;
  it->second.state = State::Reaped;
  dropVirtIfUnused(it->second);
  ghosts_.push_back(real);
  collectGhosts();
}

void PidTable::execTookOver(pid_t formerTid, pid_t leader) {
  std::lock_guard<std::mutex> g(mu);
  auto it = byReal_.find(formerTid);
  if (it == byReal_.end() || formerTid == leader) return;
  auto v = virtToReal_.find(it->second.virt);
  if (v != virtToReal_.end() && v->second == formerTid) virtToReal_.erase(v);
  byReal_.erase(it);
  auto l = byReal_.find(leader);
  if (l != byReal_.end()) l->second.state = State::Alive;
}

}  // namespace vdomain
