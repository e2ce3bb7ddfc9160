using System.Net;
using System.Net.Sockets;

namespace KetamineCds.Api.Tests.MultiInstance;

/// <summary>A free TCP port on 127.0.0.1, for a server a test starts or one it must find unreachable (linked into
/// KetamineCds.SmartApp.Tests with <see cref="RedisServer"/>).</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
