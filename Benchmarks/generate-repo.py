#!/usr/bin/env python3
"""Generates a large, valid scepops config repo as a git repository.

Usage: generate-repo.py DIR [--cas N] [--teams N] [--profiles N]

Each profile has a SCEP payload for one CA (round robin) and a Wi-Fi payload; each team
lists its profiles, half by explicit path and half by a glob. Prints the environment
variables the repo's ${...} references need, as NAME=VALUE lines, to DIR.env.
"""
import argparse
import os
import subprocess

PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadContent</key>
      <dict>
        <key>Challenge</key>
        <string>$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_{ca}</string>
        <key>Key Type</key>
        <string>RSA</string>
        <key>Key Usage</key>
        <integer>5</integer>
        <key>Keysize</key>
        <integer>2048</integer>
        <key>Subject</key>
        <array>
          <array><array><string>CN</string><string>%SerialNumber% profile {n}</string></array></array>
          <array><array><string>OU</string><string>$FLEET_VAR_SCEP_RENEWAL_ID</string></array></array>
        </array>
        <key>URL</key>
        <string>${{FLEET_VAR_CUSTOM_SCEP_PROXY_URL_{ca}}}</string>
      </dict>
      <key>PayloadDisplayName</key>
      <string>SCEP {n}</string>
      <key>PayloadIdentifier</key>
      <string>com.example.p{n}.scep</string>
      <key>PayloadType</key>
      <string>com.apple.security.scep</string>
      <key>PayloadUUID</key>
      <string>{uuid1}</string>
      <key>PayloadVersion</key>
      <integer>1</integer>
    </dict>
    <dict>
      <key>AutoJoin</key>
      <true/>
      <key>EncryptionType</key>
      <string>WPA2</string>
      <key>PayloadCertificateUUID</key>
      <string>{uuid1}</string>
      <key>PayloadDisplayName</key>
      <string>Wi-Fi {n}</string>
      <key>PayloadIdentifier</key>
      <string>com.example.p{n}.wifi</string>
      <key>PayloadType</key>
      <string>com.apple.wifi.managed</string>
      <key>PayloadUUID</key>
      <string>{uuid2}</string>
      <key>PayloadVersion</key>
      <integer>1</integer>
      <key>SSID_STR</key>
      <string>Network &amp; {n}</string>
    </dict>
  </array>
  <key>PayloadDisplayName</key>
  <string>Profile {n}</string>
  <key>PayloadIdentifier</key>
  <string>com.example.p{n}</string>
  <key>PayloadType</key>
  <string>Configuration</string>
  <key>PayloadUUID</key>
  <string>{uuid3}</string>
  <key>PayloadVersion</key>
  <integer>1</integer>
</dict>
</plist>
"""


def uuid(kind, n):
    return "%08X-0000-4000-8000-%012X" % (kind, n)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--cas", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--profiles", type=int, default=10000)
    args = parser.parse_args()

    root = args.dir
    for folder in ("certificate_authorities", "teams", "profiles"):
        os.makedirs(os.path.join(root, folder), exist_ok=True)

    env = {}
    for c in range(args.cas):
        name = "CA_%04d" % c
        env[name + "_CHALLENGE"] = "challenge-%d" % c
        with open(os.path.join(root, "certificate_authorities", "ca_%04d.yml" % c), "w") as f:
            f.write("name: %s\nurl: https://scep%d.example.com/scep\nchallenge: ${%s_CHALLENGE}\n" % (name, c, name))

    per_team = max(1, args.profiles // args.teams)
    for t in range(args.teams):
        folder = os.path.join(root, "profiles", "team_%03d" % t)
        os.makedirs(folder, exist_ok=True)
        lines = ["name: Team %03d" % t, "enroll_secret: ${TEAM_%03d_SECRET}" % t, "profiles:"]
        env["TEAM_%03d_SECRET" % t] = "enroll-%d" % t
        for i in range(per_team):
            n = t * per_team + i
            ca = "CA_%04d" % (n % args.cas)
            with open(os.path.join(folder, "p%05d.mobileconfig" % n), "w") as f:
                f.write(PROFILE.format(ca=ca, n=n, uuid1=uuid(1, n), uuid2=uuid(2, n), uuid3=uuid(3, n)))
        if t % 2 == 0:
            lines.append("  - profiles/team_%03d/*.mobileconfig" % t)
        else:
            lines += ["  - profiles/team_%03d/p%05d.mobileconfig" % (t, t * per_team + i) for i in range(per_team)]
        with open(os.path.join(root, "teams", "team_%03d.yml" % t), "w") as f:
            f.write("\n".join(lines) + "\n")

    git_env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    subprocess.run(["git", "init", "-q", "-b", "main", root], check=True, env=git_env)
    subprocess.run(["git", "-C", root, "add", "-A"], check=True, env=git_env)
    subprocess.run(["git", "-C", root, "-c", "gc.auto=0", "commit", "-q", "-m", "generated"], check=True, env=git_env)
    subprocess.run(["git", "-C", root, "gc", "-q"], check=True, env=git_env)

    with open(root.rstrip("/") + ".env", "w") as f:
        for name, value in sorted(env.items()):
            f.write("%s=%s\n" % (name, value))


if __name__ == "__main__":
    main()
