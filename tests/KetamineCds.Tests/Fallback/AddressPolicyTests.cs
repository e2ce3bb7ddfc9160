using System.Net;
using KetamineCds.Fhir.Fallback;

namespace KetamineCds.Tests.Fallback;

public sealed class AddressPolicyTests
{
    [Theory]
    [InlineData("93.184.216.34", AddressClass.Public)]
    [InlineData("2606:4700::1111", AddressClass.Public)]
    [InlineData("127.0.0.1", AddressClass.Loopback)]
    [InlineData("127.255.0.9", AddressClass.Loopback)]
    [InlineData("::1", AddressClass.Loopback)]
    [InlineData("10.0.0.5", AddressClass.Private)]
    [InlineData("172.16.0.1", AddressClass.Private)]
    [InlineData("172.31.255.255", AddressClass.Private)]
    [InlineData("172.32.0.1", AddressClass.Public)]
    [InlineData("192.168.1.20", AddressClass.Private)]
    [InlineData("100.64.0.1", AddressClass.Private)]
    [InlineData("169.254.10.10", AddressClass.LinkLocal)]
    [InlineData("fe80::1", AddressClass.LinkLocal)]
    [InlineData("fc00::1", AddressClass.UniqueLocal)]
    [InlineData("fd12:3456::1", AddressClass.UniqueLocal)]
    [InlineData("169.254.169.254", AddressClass.Metadata)]
    [InlineData("fd00:ec2::254", AddressClass.Metadata)]
    [InlineData("168.63.129.16", AddressClass.Metadata)]
    [InlineData("0.0.0.0", AddressClass.Unspecified)]
    [InlineData("::", AddressClass.Unspecified)]
    [InlineData("224.0.0.1", AddressClass.Multicast)]
    [InlineData("ff02::1", AddressClass.Multicast)]
    [InlineData("255.255.255.255", AddressClass.Reserved)]
    [InlineData("::ffff:10.0.0.5", AddressClass.Private)]
    [InlineData("::ffff:169.254.169.254", AddressClass.Metadata)]
    [InlineData("::ffff:127.0.0.1", AddressClass.Loopback)]
    [InlineData("64:ff9b::a00:5", AddressClass.Private)]
    [InlineData("2002:c0a8:0101::1", AddressClass.Private)]
    [InlineData("2001:db8::1", AddressClass.Reserved)]
    public void Addresses_are_classified_for_the_SSRF_policy(string address, AddressClass expected) =>
        Assert.Equal(expected, AddressPolicy.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData(AddressClass.Public, false, false, true)]
    [InlineData(AddressClass.Loopback, false, false, false)]
    [InlineData(AddressClass.Loopback, false, true, true)]
    [InlineData(AddressClass.Loopback, true, false, true)]
    [InlineData(AddressClass.Private, false, true, false)]
    [InlineData(AddressClass.Private, true, false, true)]
    [InlineData(AddressClass.LinkLocal, true, false, true)]
    [InlineData(AddressClass.UniqueLocal, false, false, false)]
    [InlineData(AddressClass.Metadata, true, true, false)]
    [InlineData(AddressClass.Unspecified, true, true, false)]
    [InlineData(AddressClass.Multicast, true, true, false)]
    [InlineData(AddressClass.Reserved, true, true, false)]
    public void Only_an_allow_list_entry_opens_private_ranges_and_nothing_opens_metadata(
        AddressClass addressClass, bool allowPrivateAddress, bool allowLoopback, bool permitted) =>
        Assert.Equal(permitted, AddressPolicy.IsPermitted(addressClass, allowPrivateAddress, allowLoopback));

    [Theory]
    [InlineData("https://ehr.example.org/fhir", "https://EHR.example.org/fhir/", true)]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org:443/fhir", true)]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org/FHIR", false)]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org/fhir/r4", false)]
    [InlineData("https://ehr.example.org/fhir", "http://ehr.example.org/fhir", false)]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org:8443/fhir", false)]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org.evil.example/fhir", false)]
    public void A_FHIR_base_matches_the_allow_list_only_exactly(string listed, string requested, bool same) =>
        Assert.Equal(same, FhirServerUrls.SameBase(new Uri(listed), new Uri(requested)));
}
