// Command bigservice is the large binary of the benchmarks (bench/binary-memory.ts,
// bench/cli-cold-start.ts): a service that links the Kubernetes client, gRPC and many cloud
// SDK clients, as real control-plane services do, so that its binary is in the hundreds of
// megabytes with DWARF. Every client's exported methods are kept (they are reachable through
// reflect.Value.MethodByName with a name only known at run time), which is what makes the
// binary as large as the services that prompted the benchmark.
//
// It prints "ready PID" and parks a few goroutines until killed. It never dials anything:
// the clients are constructed with unreachable endpoints and never called.
package main

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// clients holds one client of each service by name.
var clients = map[string]any{}

func build() error {
	cfg := aws.Config{Region: "us-east-1"}
	clients["cloudformation"] = cloudformation.NewFromConfig(cfg)
	clients["cloudwatch"] = cloudwatch.NewFromConfig(cfg)
	clients["dynamodb"] = dynamodb.NewFromConfig(cfg)
	clients["ec2"] = ec2.NewFromConfig(cfg)
	clients["ecs"] = ecs.NewFromConfig(cfg)
	clients["eks"] = eks.NewFromConfig(cfg)
	clients["glue"] = glue.NewFromConfig(cfg)
	clients["iam"] = iam.NewFromConfig(cfg)
	clients["kms"] = kms.NewFromConfig(cfg)
	clients["lambda"] = lambda.NewFromConfig(cfg)
	clients["rds"] = rds.NewFromConfig(cfg)
	clients["s3"] = s3.NewFromConfig(cfg)
	clients["sagemaker"] = sagemaker.NewFromConfig(cfg)
	clients["sns"] = sns.NewFromConfig(cfg)
	clients["sqs"] = sqs.NewFromConfig(cfg)
	clients["ssm"] = ssm.NewFromConfig(cfg)
	clients["sts"] = sts.NewFromConfig(cfg)
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		return err
	}
	clients["kubernetes"] = kube
	for _, name := range []string{"CoreV1", "AppsV1", "BatchV1", "NetworkingV1", "RbacV1", "StorageV1", "AutoscalingV2", "PolicyV1"} {
		clients["kubernetes."+name] = reflect.ValueOf(kube).MethodByName(name).Call(nil)[0].Interface()
	}
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	clients["grpc"] = conn
	clients["health"] = grpc_health_v1.NewHealthClient(conn)
	return nil
}

// methods lists a client's methods: reflect by a run-time name keeps every exported method.
//
//go:noinline
func methods(name, method string) (int, bool) {
	v := reflect.ValueOf(clients[name])
	if !v.IsValid() {
		return 0, false
	}
	return v.NumMethod(), v.MethodByName(method).IsValid()
}

// worker parks on its channel, as a service's idle workers do.
//
//go:noinline
func worker(id int, jobs <-chan string, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		if n, ok := methods(j, fmt.Sprint("Describe", id)); ok {
			fmt.Println(j, n)
		}
	}
}

func main() {
	if err := build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(os.Args) > 2 {
		n, ok := methods(os.Args[1], os.Args[2])
		fmt.Println(n, ok)
		return
	}
	names := make([]string, 0, len(clients))
	for k := range clients {
		names = append(names, k)
	}
	sort.Strings(names)
	jobs := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go worker(i, jobs, &wg)
	}
	fmt.Printf("ready %d clients=%d\n", os.Getpid(), len(names))
	time.Sleep(365 * 24 * time.Hour)
	close(jobs)
	wg.Wait()
}
