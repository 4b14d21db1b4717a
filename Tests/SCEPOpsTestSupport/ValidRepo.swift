
/// A small valid config repo whose line numbers the broken-repo table relies on.
public enum ValidRepo {
    public static let environment = [
        "WIFI_CHALLENGE": "wifi-challenge-s3cret",
        "VPN_CHALLENGE": "vpn-challenge-s3cret",
        "WS_SECRET": "workstations-enroll-s3cret",
        "KIOSK_SECRET": "kiosk-enroll-s3cret",
    ]

    public static let wifiCA = """
        name: WIFI
        url: https://scep.example.com/scep
        challenge: ${WIFI_CHALLENGE}

        """

    public static let vpnCA = """
        name: VPN
        url: http://127.0.0.1:2016/scep
        challenge: $VPN_CHALLENGE

        """

    public static let workstations = """
        name: Workstations
        enroll_secret: ${WS_SECRET}
        profiles:
          - profiles/wifi.mobileconfig
          - profiles/vpn/*.mobileconfig

        """

    public static let kiosks = """
        name: Kiosks
        enroll_secret: ${KIOSK_SECRET}
        profiles:
          - profiles/**/*.mobileconfig

        """

    /// A profile with one SCEP payload. Lines: Challenge 11, Subject 13, URL 15, the
    /// extra payload 26, top-level PayloadIdentifier 31, PayloadType 33.
    public static func profile(
        challenge: String = "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI",
        url: String = "${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI}",
        organizationalUnit: String = "$FLEET_VAR_SCEP_RENEWAL_ID",
        extraPayload: String = "",
        identifier: String = "com.example.wifi",
        payloadType: String = "Configuration"
    ) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <plist version="1.0">
        <dict>
          <key>PayloadContent</key>
          <array>
            <dict>
              <key>PayloadContent</key>
              <dict>
                <key>Challenge</key>
                <string>\(challenge)</string>
                <key>Subject</key>
                <array><array><array><string>OU</string><string>\(organizationalUnit)</string></array></array></array>
                <key>URL</key>
                <string>\(url)</string>
              </dict>
              <key>PayloadIdentifier</key>
              <string>\(identifier).scep</string>
              <key>PayloadType</key>
              <string>com.apple.security.scep</string>
              <key>PayloadUUID</key>
              <string>0B0E6A39-5E47-4E51-9A54-7D1F4B7E0C11</string>
              <key>PayloadVersion</key>
              <integer>1</integer>
            </dict>
            \(extraPayload)
          </array>
          <key>PayloadDisplayName</key>
          <string>Wi-Fi certificate</string>
          <key>PayloadIdentifier</key>
          <string>\(identifier)</string>
          <key>PayloadType</key>
          <string>\(payloadType)</string>
          <key>PayloadUUID</key>
          <string>5A3C3D0E-3F7B-4C55-8F0B-2E6C1D7A9B42</string>
          <key>PayloadVersion</key>
          <integer>1</integer>
        </dict>
        </plist>

        """
    }

    /// A one-line payload for `extraPayload`, optionally with a string inside it.
    public static func payload(type: String, identifier: String, text: String = "plain") -> String {
        "<dict><key>Note</key><string>\(text)</string><key>PayloadIdentifier</key><string>\(identifier)</string><key>PayloadType</key><string>\(type)</string><key>PayloadUUID</key><string>9C1D</string><key>PayloadVersion</key><integer>1</integer></dict>"
    }

    public static var files: [String: String] {
        [
            "certificate_authorities/wifi.yml": wifiCA,
            "certificate_authorities/vpn.yml": vpnCA,
            "teams/workstations.yml": workstations,
            "teams/kiosks.yml": kiosks,
            "profiles/wifi.mobileconfig": profile(),
            "profiles/vpn/vpn.mobileconfig": profile(
                challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_VPN", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_VPN",
                identifier: "com.example.vpn"),
        ]
    }

    public static func make() -> TempRepo {
        let repo = TempRepo()
        repo.write(files)
        return repo
    }
}
