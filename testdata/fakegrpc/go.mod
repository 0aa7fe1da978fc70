module periscope.test/fakegrpc

go 1.22

require google.golang.org/grpc v1.999.0

replace google.golang.org/grpc => ./grpc
