package temporalclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/temporalclient"
)

const (
	frontendName = "frontend.digitalpost.test"
	mtlsNS       = "digitalpost-mtls"
	clientCN     = "digitalpost-worker"
)

// The connection comes from Temporal's standard client configuration, proved against a
// real Temporal (the dev server) behind a frontend that speaks only TLS with a certificate
// from a private CA and requires a client certificate from that CA: the dev server cannot
// serve TLS itself, so a TLS-terminating proxy in the test stands in front of it.
func TestMutualTLSAgainstAPrivateCA(t *testing.T) {
	cli, ok := devenv.FindTemporalCLI()
	if !ok {
		t.Fatalf("this test needs the Temporal CLI (not found at %s): %s", cli, devenv.InstallHint)
	}
	pki := newPKI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cli, LogLevel: "error", ExtraArgs: []string{"--headless"},
		ClientOptions: &client.Options{Namespace: mtlsNS, Logger: nopLogger{}},
	})
	if err != nil {
		t.Fatalf("start Temporal dev server from %s: %v", cli, err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	// Straight to the dev server, in plaintext: to read what the mTLS clients wrote.
	direct, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: mtlsNS, Logger: nopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(direct.Close)
	proxy := startMTLSProxy(t, pki, srv.FrontendHostPort())
	keySpec := codec.NewKeySpec("mtls1")

	mtlsEnv := func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("PAYLOAD_KEYS", keySpec)
		t.Setenv("TEMPORAL_ADDRESS", proxy.addr)
		t.Setenv("TEMPORAL_NAMESPACE", mtlsNS)
		t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", pki.clientCert)
		t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", pki.clientKey)
		t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", pki.caCert)
		t.Setenv("TEMPORAL_TLS_SERVER_NAME", frontendName)
	}
	// dial loads the configuration as a process does and dials.
	dial := func(t *testing.T, timeout time.Duration) (client.Client, error) {
		cfg, err := config.Load()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return temporalclient.DialWith(ctx, cfg, quiet, temporalclient.Instruments{})
	}
	// refused dials, expects an error saying want, and that no connection got through to
	// Temporal; it returns why the frontend refused the handshakes it did.
	refused := func(t *testing.T, want ...string) []string {
		t.Helper()
		served, handshakeErrs := proxy.counts()
		tc, err := dial(t, 3*time.Second)
		if err == nil {
			tc.Close()
			t.Fatal("dialled")
		}
		t.Logf("refused: %v", err)
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not say %q: %v", w, err)
			}
		}
		// The frontend's side of a handshake the client gave up on may end just after.
		var why []string
		for deadline := time.Now().Add(2 * time.Second); len(why) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			why = proxy.handshakeErrsSince(handshakeErrs)
		}
		if s, _ := proxy.counts(); s != served || len(why) == 0 {
			t.Errorf("the proxy served %d connections (had %d) and refused %d handshakes", s, served, len(why))
		}
		return why
	}
	// refusedFor expects every handshake the frontend refused to say reason.
	refusedFor := func(t *testing.T, reason string) {
		t.Helper()
		for _, why := range refused(t) { // the client's own error varies (an alert, or a broken pipe)
			if !strings.Contains(why, reason) {
				t.Errorf("the frontend refused for another reason than %q: %s", reason, why)
			}
		}
	}

	t.Run("variables only", func(t *testing.T) {
		mtlsEnv(t)
		tc, err := dial(t, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		probe(t, tc, direct, proxy, keySpec)
	})

	t.Run("a profile in a TOML file", func(t *testing.T) {
		cleanTemporalEnv(t)
		file := filepath.Join(t.TempDir(), "temporal.toml")
		toml := fmt.Sprintf(`
[profile.default]
address = "127.0.0.1:1"

[profile.mtls]
address = %q
namespace = %q

[profile.mtls.tls]
client_cert_path = %q
client_key_path = %q
server_ca_cert_path = %q
server_name = %q
`, proxy.addr, mtlsNS, pki.clientCert, pki.clientKey, pki.caCert, frontendName)
		if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("TEMPORAL_CONFIG_FILE", file)
		t.Setenv("TEMPORAL_PROFILE", "mtls")
		t.Setenv("PAYLOAD_KEYS", keySpec)
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TemporalAddress != proxy.addr || cfg.TemporalNamespace != mtlsNS {
			t.Errorf("config has %s %s, want the profile's %s %s", cfg.TemporalAddress, cfg.TemporalNamespace, proxy.addr, mtlsNS)
		}
		tc, err := dial(t, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		probe(t, tc, direct, proxy, keySpec)
	})

	t.Run("no client certificate is refused", func(t *testing.T) {
		mtlsEnv(t)
		t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "")
		t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "")
		refusedFor(t, "didn't provide a certificate")
	})

	t.Run("a client certificate from another CA is refused", func(t *testing.T) {
		mtlsEnv(t)
		t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", pki.rogueCert)
		t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", pki.rogueKey)
		refusedFor(t, "unknown authority")
	})

	t.Run("the wrong server name is refused", func(t *testing.T) {
		mtlsEnv(t)
		t.Setenv("TEMPORAL_TLS_SERVER_NAME", "other.digitalpost.test")
		refused(t, "x509", "other.digitalpost.test")
	})

	t.Run("without the server name the address does not match", func(t *testing.T) {
		mtlsEnv(t)
		t.Setenv("TEMPORAL_TLS_SERVER_NAME", "")
		refused(t, "x509", "127.0.0.1")
	})

	t.Run("without the private CA the frontend is not trusted", func(t *testing.T) {
		mtlsEnv(t)
		t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "")
		refused(t, "x509", "unknown authority")
	})

	t.Run("the old TEMPORAL_TLS_CERT stops the process", func(t *testing.T) {
		mtlsEnv(t)
		t.Setenv("TEMPORAL_TLS_CERT", pki.clientCert)
		if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CLIENT_CERT_PATH") {
			t.Errorf("config.Load: %v, want an error naming TEMPORAL_TLS_CLIENT_CERT_PATH", err)
		}
		// A config built in code does not pass config.Load: dialling checks too.
		served, _ := proxy.counts()
		cfg := config.Config{TemporalAddress: proxy.addr, TemporalNamespace: mtlsNS, PayloadKeys: keySpec}
		tc, err := temporalclient.Dial(context.Background(), cfg, quiet)
		if err == nil {
			tc.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CLIENT_CERT_PATH") {
			t.Errorf("Dial: %v, want an error naming TEMPORAL_TLS_CLIENT_CERT_PATH", err)
		}
		if s, _ := proxy.counts(); s != served {
			t.Error("a client dialled before failing")
		}
	})
}

// probe starts a letter-like workflow through tc (over mTLS) and checks, straight at the
// dev server, that it is there in the namespace configured, with its input sealed by our
// codec, and that the proxy served the client by its certificate.
func probe(t *testing.T, tc, direct client.Client, proxy *mtlsProxy, keySpec string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const secret = "CPR 010203-1234"
	id := "mtls-probe-" + uuid.NewString()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "mtls-probe-nobody-polls"}, "MTLSProbe", secret)
	if err != nil {
		t.Fatalf("start over mTLS: %v", err)
	}
	desc, err := tc.DescribeWorkflowExecution(ctx, id, run.GetRunID())
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("describe over mTLS: %v %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	it := direct.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatalf("history straight from the dev server, namespace %s: %v", mtlsNS, err)
	}
	input := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(input) != 1 {
		t.Fatalf("input %v", input)
	}
	if enc := string(input[0].GetMetadata()["encoding"]); enc != codec.Encoding || strings.Contains(string(input[0].GetData()), "010203") {
		t.Errorf("input reached Temporal as %s, not sealed by our codec", enc)
	}
	keys, err := codec.ParseKeys(keySpec)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := codec.DataConverter(keys).FromPayload(input[0], &got); err != nil || got != secret {
		t.Errorf("input opens as %q, %v", got, err)
	}
	if peers := proxy.peerNames(); len(peers) == 0 || peers[len(peers)-1] != clientCN {
		t.Errorf("the proxy served %v, want the client certificate %s", peers, clientCN)
	}
}

type pki struct {
	caCert, clientCert, clientKey, rogueCert, rogueKey string
	server                                             tls.Certificate
	caPool                                             *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := issue(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Digital Post test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature})
	// Someone else's CA under the same name: the client offers its certificate, which the
	// frontend must then refuse by its signature.
	rogue, rogueKey := issue(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "Digital Post test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature})
	srv, srvKey := issue(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: frontendName}, DNSNames: []string{frontendName},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cl, clKey := issue(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: clientCN},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	rc, rcKey := issue(t, rogue, rogueKey, &x509.Certificate{Subject: pkix.Name{CommonName: clientCN},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	p := &pki{
		caCert:     writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw),
		clientCert: writePEM(t, dir, "client.pem", "CERTIFICATE", cl.Raw),
		clientKey:  writePEM(t, dir, "client.key", "PRIVATE KEY", pkcs8(t, clKey)),
		rogueCert:  writePEM(t, dir, "rogue.pem", "CERTIFICATE", rc.Raw),
		rogueKey:   writePEM(t, dir, "rogue.key", "PRIVATE KEY", pkcs8(t, rcKey)),
		server:     tls.Certificate{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey},
		caPool:     x509.NewCertPool(),
	}
	p.caPool.AddCert(ca)
	return p
}

var serial int64

func issue(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func pkcs8(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mtlsProxy is the frontend the clients see: TLS with the server certificate, a client
// certificate from the CA required, and the decrypted gRPC (HTTP/2) passed to the dev server.
type mtlsProxy struct {
	addr string

	mu            sync.Mutex
	peers         []string
	handshakeErrs []string
	conns         []net.Conn
}

func startMTLSProxy(t *testing.T, p *pki, backend string) *mtlsProxy {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.caPool,
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	px := &mtlsProxy{addr: ln.Addr().String()}
	t.Cleanup(func() {
		ln.Close()
		px.mu.Lock()
		defer px.mu.Unlock()
		for _, c := range px.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go px.serve(c.(*tls.Conn), backend)
		}
	}()
	return px
}

func (px *mtlsProxy) serve(c *tls.Conn, backend string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		px.mu.Lock()
		px.handshakeErrs = append(px.handshakeErrs, err.Error())
		px.mu.Unlock()
		c.Close()
		return
	}
	b, err := net.Dial("tcp", backend)
	if err != nil {
		c.Close()
		return
	}
	px.mu.Lock()
	px.peers = append(px.peers, c.ConnectionState().PeerCertificates[0].Subject.CommonName)
	px.conns = append(px.conns, c, b)
	px.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); b.Close() }()
	_, _ = io.Copy(c, b)
	c.Close()
}

func (px *mtlsProxy) counts() (served, handshakeErrs int) {
	px.mu.Lock()
	defer px.mu.Unlock()
	return len(px.peers), len(px.handshakeErrs)
}

func (px *mtlsProxy) peerNames() []string {
	px.mu.Lock()
	defer px.mu.Unlock()
	return append([]string(nil), px.peers...)
}

func (px *mtlsProxy) handshakeErrsSince(n int) []string {
	px.mu.Lock()
	defer px.mu.Unlock()
	return append([]string(nil), px.handshakeErrs[n:]...)
}

// nopLogger keeps the SDK quiet for the test's own clients.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
