using System.Net;
using System.Net.Sockets;

namespace KetamineCds.Fhir.Fallback;

/// <summary>What kind of network an IP address belongs to, for the SSRF policy.</summary>
public enum AddressClass
{
    Public,
    Loopback,

    /// <summary>RFC 1918, shared address space (100.64/10), benchmarking (198.18/15), IPv6 site-local.</summary>
    Private,

    /// <summary>169.254/16, fe80::/10.</summary>
    LinkLocal,

    /// <summary>fc00::/7.</summary>
    UniqueLocal,

    /// <summary>Cloud instance metadata endpoints: never reachable, whatever the allow-list says.</summary>
    Metadata,

    Unspecified,
    Multicast,

    /// <summary>Broadcast, reserved, documentation and deprecated ranges: never reachable.</summary>
    Reserved,
}

/// <summary>
/// Classifies IP addresses and decides whether the fetcher may connect to one. Used twice: on a literal IP in
/// <c>fhirServer</c> before any connection, and on every resolved address at connect time (so DNS rebinding, a name
/// that resolves to 10.0.0.5 or 169.254.169.254, cannot get around it).
/// </summary>
public static class AddressPolicy
{
    // Cloud metadata services: AWS/GCP/Azure/OpenStack IMDS, AWS IPv6 IMDS, Oracle Cloud, Azure WireServer.
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"),
        IPAddress.Parse("fd00:ec2::254"),
        IPAddress.Parse("192.0.0.192"),
        IPAddress.Parse("168.63.129.16"),
    ];

    public static AddressClass Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return Classify(address.MapToIPv4());
        }

        if (MetadataAddresses.Any(m => m.Equals(address)))
        {
            return AddressClass.Metadata;
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => ClassifyV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => ClassifyV6(address),
            _ => AddressClass.Reserved,
        };
    }

    /// <summary>
    /// Loopback needs AllowHttpLoopback (development, tests) or an allow-list entry with AllowPrivateAddress; private,
    /// link-local and unique-local need the entry. Metadata, unspecified, multicast and reserved addresses never pass.
    /// </summary>
    public static bool IsPermitted(AddressClass addressClass, bool allowPrivateAddress, bool allowLoopback) => addressClass switch
    {
        AddressClass.Public => true,
        AddressClass.Loopback => allowLoopback || allowPrivateAddress,
        AddressClass.Private or AddressClass.LinkLocal or AddressClass.UniqueLocal => allowPrivateAddress,
        _ => false,
    };

    private static AddressClass ClassifyV4(byte[] b) => b switch
    {
        [0, ..] => AddressClass.Unspecified,
        [10, ..] => AddressClass.Private,
        [100, >= 64 and <= 127, ..] => AddressClass.Private,
        [127, ..] => AddressClass.Loopback,
        [169, 254, ..] => AddressClass.LinkLocal,
        [172, >= 16 and <= 31, ..] => AddressClass.Private,
        [192, 0, 0, _] => AddressClass.Reserved,
        [192, 0, 2, _] or [198, 51, 100, _] or [203, 0, 113, _] => AddressClass.Reserved,
        [192, 168, ..] => AddressClass.Private,
        [198, 18 or 19, ..] => AddressClass.Private,
        [>= 224 and <= 239, ..] => AddressClass.Multicast,
        [>= 240, ..] => AddressClass.Reserved,
        _ => AddressClass.Public,
    };

    private static AddressClass ClassifyV6(IPAddress address)
    {
        if (address.Equals(IPAddress.IPv6Any))
        {
            return AddressClass.Unspecified;
        }

        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return AddressClass.Loopback;
        }

        var b = address.GetAddressBytes();
        if (b[0] == 0xff)
        {
            return AddressClass.Multicast;
        }

        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        {
            return AddressClass.LinkLocal;
        }

        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        {
            return AddressClass.Private; // site-local (deprecated)
        }

        if ((b[0] & 0xfe) == 0xfc)
        {
            return AddressClass.UniqueLocal;
        }

        // Addresses that embed an IPv4 address are judged by it: NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
        if (b is [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..])
        {
            return ClassifyV4(b[12..16]);
        }

        if (b is [0x20, 0x02, ..])
        {
            return ClassifyV4(b[2..6]);
        }

        // IPv4-compatible (::a.b.c.d, deprecated) and documentation (2001:db8::/32) addresses.
        if (b.Take(12).All(x => x == 0) || b is [0x20, 0x01, 0x0d, 0xb8, ..])
        {
            return AddressClass.Reserved;
        }

        return AddressClass.Public;
    }
}
